"""The web: one module per page or socket, and what they share (errors, security headers)."""
