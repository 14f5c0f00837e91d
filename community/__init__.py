"""The network: forums, live cohort chat, knowledge library and institution directory."""
