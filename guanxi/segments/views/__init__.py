"""Pages of the segments app: segments (detail, rule editor), churn warnings, tiers and
clusters. Views parse the request, call segments.services / selectors, and render."""
