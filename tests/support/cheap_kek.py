"""The scrypt cost of the KEK files that tests' nodes create: 2^10 instead of the default 2^15, which
costs about 0.08 s of CPU at every node made, thousands of times a run. ``tests/conftest.py`` puts it
in the environment (for ``Settings.load()`` and the commands run in-process or as children); fixtures
that load settings from an empty environment pass ``KEK_ENVIRON`` instead. The KEK's own tests
(``tests/nodes/persons/test_identity_vault.py``) check the default cost."""

KEK_ENVIRON = {"ARMSLEDGER_KEK_COST": "10"}
