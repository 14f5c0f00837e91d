"""People, roles, member states, police institutions, universities and donors."""
