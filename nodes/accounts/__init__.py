"""Officers' personal accounts: users, roles, passwords, tokens and sessions."""
