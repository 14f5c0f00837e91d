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


# The time zone a member state's people read times in unless they choose another (the
# capital's, where the state spans several: a person elsewhere picks theirs on their account).
TIME_ZONES: dict[str, str] = {
    "AG": "America/Antigua",
    "AR": "America/Argentina/Buenos_Aires",
    "BS": "America/Nassau",
    "BB": "America/Barbados",
    "BZ": "America/Belize",
    "BO": "America/La_Paz",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "CO": "America/Bogota",
    "CR": "America/Costa_Rica",
    "DM": "America/Dominica",
    "DO": "America/Santo_Domingo",
    "EC": "America/Guayaquil",
    "SV": "America/El_Salvador",
    "GD": "America/Grenada",
    "GT": "America/Guatemala",
    "GY": "America/Guyana",
    "HT": "America/Port-au-Prince",
    "HN": "America/Tegucigalpa",
    "JM": "America/Jamaica",
    "MX": "America/Mexico_City",
    "NI": "America/Managua",
    "PA": "America/Panama",
    "PY": "America/Asuncion",
    "PE": "America/Lima",
    "KN": "America/St_Kitts",
    "LC": "America/St_Lucia",
    "VC": "America/St_Vincent",
    "SR": "America/Paramaribo",
    "TT": "America/Port_of_Spain",
    "US": "America/New_York",
    "UY": "America/Montevideo",
    "VE": "America/Caracas",
}


def ensure_member_states() -> int:
    """Create any missing member state (the data migration does this; tests that flush the
    database call it again). Returns how many were created."""
    from lms.accounts.models import MemberState

    existing = set(MemberState.objects.values_list("code", flat=True))
    missing = [
        MemberState(
            code=code,
            name_en=en,
            name_es=es,
            name_pt=pt,
            name_fr=fr,
            official_languages=languages,
            time_zone=TIME_ZONES[code],
        )
        for code, en, es, pt, fr, languages in MEMBER_STATES
        if code not in existing
    ]
    MemberState.objects.bulk_create(missing, ignore_conflicts=True)
    # rows made before member states had zones (a reused test database) get theirs
    unzoned = list(MemberState.objects.filter(time_zone="UTC"))
    for state in unzoned:
        state.time_zone = TIME_ZONES.get(state.code, "UTC")
    MemberState.objects.bulk_update(unzoned, ["time_zone"])
    return len(missing)
