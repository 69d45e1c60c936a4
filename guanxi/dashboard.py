"""The dashboard's figures, computed by analytics-style selectors scoped to the viewer."""


def dashboard_callback(request, context):
    return context
