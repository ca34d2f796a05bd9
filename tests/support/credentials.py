"""The one set of credentials every test array and Secret uses.

The password differs from the username on purpose: the tests search the operator's log, its
Events and status for it, and a password equal to the username would be found everywhere."""

from __future__ import annotations

USERNAME = "admin"
PASSWORD = "pw-7c1f-never-logged"
