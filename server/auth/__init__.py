"""Staff accounts, sessions and the access policy of every route."""
