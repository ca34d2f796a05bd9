"""The two-site runbooks behind ``replica-operator dr``: patches of objects, never array calls."""
