"""The node's HTTP service: the API under /api/v1 and the officers' web desks."""
