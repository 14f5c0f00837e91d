"""The 34 OAS member states: ISO code, names in the four languages, official languages."""

MEMBER_STATES: list[tuple[str, str, str, str, str, list[str]]] = [
    (
        "AG",
        "Antigua and Barbuda",
        "Antigua y Barbuda",
        "Antígua e Barbuda",
        "Antigua-et-Barbuda",
        ["en"],
    ),
    ("AR", "Argentina", "Argentina", "Argentina", "Argentine", ["es"]),
    ("BS", "Bahamas", "Bahamas", "Bahamas", "Bahamas", ["en"]),
    ("BB", "Barbados", "Barbados", "Barbados", "Barbade", ["en"]),
    ("BZ", "Belize", "Belice", "Belize", "Belize", ["en"]),
    ("BO", "Bolivia", "Bolivia", "Bolívia", "Bolivie", ["es"]),
    ("BR", "Brazil", "Brasil", "Brasil", "Brésil", ["pt"]),
    ("CA", "Canada", "Canadá", "Canadá", "Canada", ["en", "fr"]),
    ("CL", "Chile", "Chile", "Chile", "Chili", ["es"]),
    ("CO", "Colombia", "Colombia", "Colômbia", "Colombie", ["es"]),
    ("CR", "Costa Rica", "Costa Rica", "Costa Rica", "Costa Rica", ["es"]),
    ("DM", "Dominica", "Dominica", "Dominica", "Dominique", ["en"]),
    (
        "DO",
        "Dominican Republic",
        "República Dominicana",
        "República Dominicana",
        "République dominicaine",
        ["es"],
    ),
    ("EC", "Ecuador", "Ecuador", "Equador", "Équateur", ["es"]),
    ("SV", "El Salvador", "El Salvador", "El Salvador", "Salvador", ["es"]),
    ("GD", "Grenada", "Granada", "Granada", "Grenade", ["en"]),
    ("GT", "Guatemala", "Guatemala", "Guatemala", "Guatemala", ["es"]),
    ("GY", "Guyana", "Guyana", "Guiana", "Guyana", ["en"]),
    ("HT", "Haiti", "Haití", "Haiti", "Haïti", ["fr"]),
    ("HN", "Honduras", "Honduras", "Honduras", "Honduras", ["es"]),
    ("JM", "Jamaica", "Jamaica", "Jamaica", "Jamaïque", ["en"]),
    ("MX", "Mexico", "México", "México", "Mexique", ["es"]),
    ("NI", "Nicaragua", "Nicaragua", "Nicarágua", "Nicaragua", ["es"]),
    ("PA", "Panama", "Panamá", "Panamá", "Panama", ["es"]),
    ("PY", "Paraguay", "Paraguay", "Paraguai", "Paraguay", ["es"]),
    ("PE", "Peru", "Perú", "Peru", "Pérou", ["es"]),
    (
        "KN",
        "Saint Kitts and Nevis",
        "San Cristóbal y Nieves",
        "São Cristóvão e Névis",
        "Saint-Christophe-et-Niévès",
        ["en"],
    ),
    ("LC", "Saint Lucia", "Santa Lucía", "Santa Lúcia", "Sainte-Lucie", ["en"]),
    (
        "VC",
        "Saint Vincent and the Grenadines",
        "San Vicente y las Granadinas",
        "São Vicente e Granadinas",
        "Saint-Vincent-et-les-Grenadines",
        ["en"],
    ),
    ("SR", "Suriname", "Surinam", "Suriname", "Suriname", ["nl"]),
    (
        "TT",
        "Trinidad and Tobago",
        "Trinidad y Tobago",
        "Trinidad e Tobago",
        "Trinité-et-Tobago",
        ["en"],
    ),
    ("US", "United States", "Estados Unidos", "Estados Unidos", "États-Unis", ["en"]),
    ("UY", "Uruguay", "Uruguay", "Uruguai", "Uruguay", ["es"]),
    ("VE", "Venezuela", "Venezuela", "Venezuela", "Venezuela", ["es"]),
]


def ensure_member_states() -> int:
    """Create any missing member state (the data migration does this; tests that flush the
    database call it again). Returns how many were created."""
    from lms.accounts.models import MemberState

    existing = set(MemberState.objects.values_list("code", flat=True))
    missing = [
        MemberState(
            code=code, name_en=en, name_es=es, name_pt=pt, name_fr=fr, official_languages=languages
        )
        for code, en, es, pt, fr, languages in MEMBER_STATES
        if code not in existing
    ]
    MemberState.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)
