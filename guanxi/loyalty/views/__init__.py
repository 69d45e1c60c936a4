"""Staff pages of the loyalty program: the program (settings, tiers, rules versions), a rules
version (rules in words, the draft editor, publishing) and the member actions of the 360° page.
Views parse the request, call loyalty.services / selectors, and render."""
