"""What the routes do, one function per route, on the objects the routes take as dependencies: a
route parses the request, calls its service and returns the answer."""
