"""The Halyq server: the app, the Redis store, fan-out, sockets, pages and the CLI."""
