"""Private holders: the identity vault (``vault``), its key-encryption key (``kek``), the records that
mention a holder (``mentions``) and the application service over them (``service``).
Rules and key handling: docs/personal-data.md."""
