# ruff: noqa: S608  (table names come from model metadata; values always go as parameters)
"""The scale seeder: realistic data for the 200,000-learner target, written set-based in PostgreSQL.

People go in through psycopg's COPY (names are made in Python); everything that is a relation
between existing rows (enrolments, lesson progress, attendance, attempts, certificates and xAPI
statements) is made by the server with `INSERT ... SELECT` over `generate_series`, in chunks, so
that no row crosses the socket twice and a tqdm bar shows progress. Randomness is
`hashint8extended(i, seed)`: the same `--seed` gives the same rows, whatever the chunking.

Columns the seeder does not name are filled from the model's own defaults (or NULL), so a field
that another app adds later does not break the seeder.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from tqdm import tqdm

LANGS = ["es", "en", "pt", "fr"]
RANDOM = re.compile(r"pg_temp\.r\(([^,]+), (\d+), %\(seed\)s\)")
MARKER = "scale-"  # every seeded course/run/program code starts with it

# Learners by member state, in proportion to the size of the police forces (rounded weights).
STATE_WEIGHTS = {
    "US": 30, "BR": 25, "MX": 22, "CO": 10, "AR": 8, "PE": 6, "VE": 6, "CL": 4, "EC": 4,
    "GT": 3, "BO": 3, "DO": 3, "HN": 2, "CU": 2, "PY": 2, "SV": 2, "NI": 2, "CR": 1, "PA": 1,
    "UY": 1, "JM": 1, "CA": 6, "TT": 1, "HT": 1, "BS": 1, "BB": 1, "GY": 1, "SR": 1, "BZ": 1,
    "AG": 1, "DM": 1, "GD": 1, "KN": 1, "LC": 1, "VC": 1,
}  # fmt: skip
FIRST = {
    "es": ["María", "José", "Luis", "Ana", "Carlos", "Lucía", "Jorge", "Carmen", "Pedro", "Rosa"],
    "pt": ["João", "Maria", "Pedro", "Ana", "Lucas", "Júlia", "Rafael", "Beatriz", "Tiago", "Rita"],
    "en": ["James", "Mary", "John", "Patricia", "Robert", "Linda", "Michael", "Susan", "David"],
    "fr": ["Jean", "Marie", "Pierre", "Claude", "Jacques", "Nadège", "Wilner", "Rose", "Louis"],
}
LAST = {
    "es": ["García", "Rodríguez", "Martínez", "López", "González", "Pérez", "Sánchez", "Ramírez"],
    "pt": ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Ferreira"],
    "en": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson"],
    "fr": ["Joseph", "Pierre", "Jean-Baptiste", "Louis", "Charles", "Étienne", "Desir", "Michel"],
}
TOPICS = [
    ("Gestión policial", "Police management", "Gestão policial", "Gestion policière"),
    ("Policía comunitaria", "Community policing", "Policiamento comunitário", "Police de proximité"),
    ("Derechos humanos", "Human rights", "Direitos humanos", "Droits de l'homme"),
    ("Prevención del delito", "Crime prevention", "Prevenção do crime", "Prévention du crime"),
    ("Investigación criminal", "Criminal investigation", "Investigação criminal", "Enquête criminelle"),
    ("Ciberdelito", "Cybercrime", "Cibercrime", "Cybercriminalité"),
    ("Uso de la fuerza", "Use of force", "Uso da força", "Usage de la force"),
    ("Violencia de género", "Gender-based violence", "Violência de gênero", "Violence basée sur le genre"),
    ("Trata de personas", "Human trafficking", "Tráfico de pessoas", "Traite des personnes"),
    ("Liderazgo", "Leadership", "Liderança", "Leadership"),
    ("Escena del crimen", "Crime scene", "Cena do crime", "Scène de crime"),
    ("Control de multitudes", "Crowd control", "Controle de multidões", "Maintien de l'ordre"),
]  # fmt: skip
LEVELS = [
    ("básico", "basic", "básico", "de base"),
    ("intermedio", "intermediate", "intermediário", "intermédiaire"),
    ("avanzado", "advanced", "avançado", "avancé"),
]
LESSON_KINDS = ["text", "video", "text", "document", "xapi", "text", "video", "assessment"]


@dataclass
class Sizes:
    """How many of each thing, from the number of learners (200,000 is the full size)."""

    learners: int
    courses: int = 0
    onsite_runs: int = 0
    virtual_runs: int = 0
    instructors: int = 0
    enrolments_per_learner: int = 5

    def __post_init__(self) -> None:
        f = self.learners / 200_000
        self.courses = max(12, round(144 * min(1.0, max(f, 0.1))))
        self.virtual_runs = max(24, round(600 * min(1.0, max(f, 0.05))))
        self.onsite_runs = max(10, round(1200 * f))
        self.instructors = max(10, round(1500 * f))


@dataclass
class Report:
    """Seconds per step and row counts, for docs/performance/scale.md."""

    steps: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    total_seconds: float = 0.0


def uuid4_sql(expr: str) -> str:
    """SQL for a deterministic UUID from a text expression that is a valid version 4, variant 2
    (RFC 4122) UUID: xAPI requires that form for statement ids and registrations."""
    return f"overlay(overlay(md5({expr}) placing '4' from 13) placing '8' from 17)::uuid"


def table(label: str) -> str:
    return str(apps.get_model(label)._meta.db_table)


def _default_sql(model: type[models.Model], f: models.Field[Any, Any], now: dt.datetime) -> Any:
    """A parameter for a column the seeder did not name: the model's default, or NULL."""
    if f.has_default():
        default = f.default
        if callable(default):
            if default is timezone.now:
                value: Any = now
            elif default is uuid.uuid4:
                raise ValueError(f"{model.__name__}.{f.name}: give a deterministic uuid")
            else:
                value = default()
        else:
            value = default
        return f.get_db_prep_save(value, connection)
    if f.null:
        return None
    if isinstance(f, models.CharField | models.TextField | models.FileField):
        return ""
    raise ValueError(f"{model.__name__}.{f.name} has no default: the seeder must give it")


def insert_select(
    label: str, exprs: dict[str, str], from_sql: str, params: dict[str, Any], now: dt.datetime
) -> int:
    """INSERT INTO <model table> (every column) SELECT <exprs or defaults> FROM <from_sql>."""
    model = apps.get_model(label)
    cols: list[str] = []
    values: list[str] = []
    extra: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        column = f.column
        if column in exprs:
            cols.append(column)
            values.append(exprs[column])
        elif isinstance(f, models.AutoField | models.BigAutoField):
            continue
        else:
            key = f"d_{column}"
            extra[key] = _default_sql(model, f, now)
            cols.append(column)
            values.append(f"%({key})s")
    unknown = set(exprs) - set(cols)
    if unknown:
        raise ValueError(f"{label}: no columns {sorted(unknown)}")
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(cols)}) "
        f"SELECT {', '.join(values)} FROM {from_sql} ON CONFLICT DO NOTHING"
    )
    # r(i, k, seed): a repeatable uniform number in [0, 1) for row i and purpose k.
    sql = RANDOM.sub(
        r"((hashint8extended((\1), %(seed)s::bigint * 1000 + \2) & 2147483647)::float8"
        r" / 2147483648.0)",
        sql,
    )
    with connection.cursor() as cur:
        cur.execute(sql, {**params, **extra})
        return int(cur.rowcount)


# How long the seed's "now" lies behind the clock at least (Seeder.last_noon).
SEED_NOW_MARGIN = dt.timedelta(hours=1)


class Seeder:
    """Seeds one database; call `run()`."""

    def __init__(
        self,
        *,
        learners: int,
        seed: int,
        out: Any = None,
        progress: bool = True,
        workers: int = 4,
        chunk: int = 10_000,
    ):
        self.workers = workers
        self.chunk = chunk  # learners per chunk of the enrolments (tests use small ones)
        self.sizes = Sizes(learners)
        self.seed = seed
        self.out = out
        self.progress = progress
        self.now = self.last_noon(timezone.now())
        self.report = Report()
        self.site = settings.SITE_URL.rstrip("/")

    @staticmethod
    def last_noon(now: dt.datetime) -> dt.datetime:
        """The seed's "now": the last noon (UTC) at least an hour past, so that a seed repeats
        within a day and no date it writes is in the future: today's completions are at that
        noon, and their certificates minutes after it (a seed run at 12:01 wrote certificates
        issued at 12:02)."""
        noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
        return noon if noon <= now - SEED_NOW_MARGIN else noon - dt.timedelta(days=1)

    # helpers -------------------------------------------------------------------------------
    def log(self, text: str) -> None:
        if self.out is not None:
            self.out.write(text)

    def sql(self, sql: str, params: dict[str, Any] | None = None) -> int:
        with connection.cursor() as cur:
            cur.execute(sql, params or {})
            return int(cur.rowcount)

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        with connection.cursor() as cur:
            cur.execute(sql, params or {})
            row = cur.fetchone()
            return row[0] if row else None

    def chunks(self, label: str, total: int, size: int) -> Iterator[tuple[int, int]]:
        """[lo, hi) ranges of `total` ids with a progress bar."""
        bar = tqdm(total=total, desc=label, unit="row", disable=not self.progress, leave=False)
        lo = 0
        while lo < total:
            hi = min(total, lo + size)
            yield lo, hi
            bar.update(hi - lo)
            lo = hi
        bar.close()

    def parallel(self, label: str, total: int, size: int, fn: Callable[[int, int], Any]) -> None:
        """fn(lo, hi) over chunks of learners in `workers` connections at once."""
        bar = tqdm(total=total, desc=label, unit="learner", disable=not self.progress, leave=False)

        def work(lo: int, hi: int) -> int:
            try:
                self.session_settings()
                fn(lo, hi)
                return hi - lo
            finally:
                connection.close()  # this thread's own connection

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = [pool.submit(work, lo, min(total, lo + size)) for lo in range(0, total, size)]
            for future in as_completed(futures):
                bar.update(future.result())
        bar.close()

    def session_settings(self) -> None:
        self.sql("SET synchronous_commit TO off")
        # Foreign-key triggers would check each of ~20 million references one by one; the rows
        # are consistent by construction (tests/loadtests checks them), so they are off while
        # the seeder loads. Needs a superuser, as PostgreSQL's own pg_restore does.
        self.sql("SET session_replication_role TO replica")

    def step(self, name: str, fn: Callable[[], None]) -> None:
        start = time.perf_counter()
        fn()
        self.report.steps[name] = round(time.perf_counter() - start, 1)
        self.log(f"{name}: {self.report.steps[name]} s")

    @contextmanager
    def deferred_indexes(self, label: str) -> Iterator[None]:
        """Drop a big table's plain indexes while it is loaded and build them again afterwards:
        one sort per index instead of ten million random inserts into each. Primary keys and
        unique constraints stay (they guard the rows)."""
        name = table(label)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid "
                "WHERE i.tablename = %s AND NOT x.indisunique AND NOT x.indisprimary",
                [name],
            )
            saved = cur.fetchall()
            for index, _ in saved:
                cur.execute(f'DROP INDEX IF EXISTS "{index}"')
        try:
            yield
        finally:
            with connection.cursor() as cur:
                cur.execute("SET maintenance_work_mem TO '1GB'")
                for _, definition in tqdm(
                    saved, desc=f"indexes of {name}", disable=not self.progress, leave=False
                ):
                    cur.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))

    def params(self, **extra: Any) -> dict[str, Any]:
        return {"seed": self.seed, "now": self.now, "site": self.site, **extra}

    # run --------------------------------------------------------------------------------------
    def run(self) -> Report:
        from courses.models import Course

        if Course.objects.filter(code__startswith=MARKER).exists():
            raise RuntimeError("this database is already seeded: seed into a fresh database")
        start = time.perf_counter()
        self.session_settings()
        self.drop_work_tables()
        try:
            self.load()
        finally:
            self.sql("SET session_replication_role TO DEFAULT")
            self.drop_work_tables()
        self.report.total_seconds = round(time.perf_counter() - start, 1)
        self.count()
        return self.report

    def drop_work_tables(self) -> None:
        for work_table in ["seed_vruns", "seed_oruns", "seed_lessons", "seed_ass", "seed_verbs"]:
            self.sql(f"DROP TABLE IF EXISTS {work_table}")

    def load(self) -> None:
        """Every step, in dependency order."""
        self.step("organisations", self.seed_organisations)
        self.step("people (COPY)", self.seed_people)
        self.step("curricula", self.seed_curricula)
        self.step("runs and sessions", self.seed_runs)
        self.step("enrolments", self.seed_enrolments)
        with self.deferred_indexes("courses.LessonProgress"):
            self.step("lesson progress", self.seed_lesson_progress)
        self.step("attendance", self.seed_attendance)
        if apps.is_installed("assessments"):
            self.step("attempts", self.seed_attempts)
        if apps.is_installed("certification"):
            self.step("certificates", self.seed_certificates)
        with self.deferred_indexes("xapi.Statement"):
            self.step("xAPI statements", self.seed_statements)
        self.step("counters", self.update_counters)

    def count(self) -> None:
        labels = [
            "accounts.Institution", "accounts.User", "accounts.RoleAssignment",
            "courses.Program", "courses.Course", "courses.CourseVersion", "courses.Module",
            "courses.Lesson", "courses.CourseRun", "courses.Session", "courses.Enrollment",
            "courses.EnrollmentEvent", "courses.LessonProgress", "courses.AttendanceRecord",
            "assessments.Assessment", "assessments.Attempt", "certification.Certificate",
            "xapi.Statement",
        ]  # fmt: skip
        for label in labels:
            try:
                model = apps.get_model(label)
            except LookupError:
                continue
            self.report.counts[label] = model.objects.count()

    # organisations ----------------------------------------------------------------------------
    def seed_organisations(self) -> None:
        from lms.accounts.models import Donor, Institution, MemberState, University

        states = {s.code: s for s in MemberState.objects.all()}
        self.state_ids: list[int] = []
        self.state_langs: dict[int, str] = {}
        self.top_by_state: dict[int, list[int]] = {}
        self.units_by_state: dict[int, list[int]] = {}
        for code, weight in STATE_WEIGHTS.items():
            state = states.get(code)
            if state is None:
                continue
            langs = [lang for lang in (state.official_languages or []) if lang in LANGS]
            lang = langs[0] if langs else "en"
            self.state_ids.append(state.pk)
            self.state_langs[state.pk] = lang
            tops = 2 if weight >= 8 else 1
            for t in range(tops):
                name = (
                    f"{MARKER}{code} "
                    + ["National Police", "Academy of Police Sciences"][t]
                    + f" of {state.name_en}"
                )
                top = Institution.objects.create(
                    member_state=state,
                    name=name,
                    short_name=f"{code}-P{t + 1}",
                    kind=["national_police", "academy"][t],
                )
                self.top_by_state.setdefault(state.pk, []).append(top.pk)
                units = [
                    Institution(
                        member_state=state,
                        parent=top,
                        name=f"{name} – unit {u + 1}",
                        short_name=f"{code}-P{t + 1}-U{u + 1}",
                        kind="unit",
                    )
                    for u in range(min(12, 2 + weight // 2))
                ]
                created = Institution.objects.bulk_create(units)
                self.units_by_state.setdefault(state.pk, []).extend(u.pk for u in created)
        # bulk_create skips save(): materialise the paths of the units in one statement.
        self.sql(
            f"UPDATE {table('accounts.Institution')} c SET path = p.path || c.id || '/' "
            f"FROM {table('accounts.Institution')} p WHERE c.parent_id = p.id "
            f"AND c.name LIKE %(m)s",
            {"m": MARKER + "%"},
        )
        self.universities = []
        for code in ["CO", "MX", "BR", "CL", "US", "AR", "PE", "CA"]:
            if code in states:
                uni, _ = University.objects.get_or_create(
                    name=f"{MARKER}University of Police Studies {code}",
                    defaults={"member_state": states[code], "is_coordinating": False},
                )
                self.universities.append(uni.pk)
        self.donors = [
            Donor.objects.get_or_create(name=f"{MARKER}{name}")[0].pk
            for name in ["Cooperation Fund", "Security Partnership", "Development Bank"]
        ]

    # people -----------------------------------------------------------------------------------
    def seed_people(self) -> None:
        """Learners by state in contiguous blocks (on-site runs draw from their state's block)."""
        from lms.accounts.models import Role, User

        n = self.sizes.learners
        total_weight = sum(STATE_WEIGHTS[c] for c in STATE_WEIGHTS)
        weights = {}
        from lms.accounts.models import MemberState

        code_by_id = dict(MemberState.objects.values_list("pk", "code"))
        for sid in self.state_ids:
            weights[sid] = STATE_WEIGHTS[code_by_id[sid]]
        # block of learner numbers per state
        self.blocks: dict[int, tuple[int, int]] = {}
        block_sizes = {sid: max(1, n * weights[sid] // total_weight) for sid in self.state_ids}
        largest = max(block_sizes, key=lambda sid: block_sizes[sid])
        block_sizes[largest] += n - sum(block_sizes.values())  # rounding goes to the largest
        lo = 0
        for sid in self.state_ids:
            self.blocks[sid] = (lo, lo + block_sizes[sid])
            lo += block_sizes[sid]
        staff = self.sizes.instructors
        coordinators = sum(len(v) for v in self.top_by_state.values())
        self.first_user_id = (
            int(self.scalar(f"SELECT COALESCE(MAX(id), 0) FROM {table('accounts.User')}")) + 1
        )
        concrete = {f.column: f for f in User._meta.concrete_fields}
        columns = [
            c for c in [
                "email", "full_name", "preferred_language", "institution_id", "unit_id",
                "member_state_id", "badge_number", "status", "password", "is_staff",
                "is_superuser", "date_joined", "activated_at", "failed_login_count",
            ] if c in concrete
        ]  # fmt: skip
        extra_cols = [
            f for c, f in concrete.items()
            if c not in columns and c != "id" and not f.null
        ]  # fmt: skip
        for f in extra_cols:
            if not f.has_default():
                raise ValueError(f"User.{f.name} needs a value in the seeder")
        extra_values = [f.get_db_prep_save(f.get_default(), connection) for f in extra_cols]
        cols = ["id", *columns, *(f.column for f in extra_cols)]
        code_of = code_by_id

        def person(i: int, kind: str, sid: int, top: int, unit: int | None) -> tuple[Any, ...]:
            lang = self.state_langs[sid]
            h = hash_int(i, self.seed)
            first = FIRST[lang][h % len(FIRST[lang])]
            last = LAST[lang][(h >> 8) % len(LAST[lang])]
            last2 = LAST[lang][(h >> 16) % len(LAST[lang])]
            joined = self.now - dt.timedelta(days=30 + (h >> 24) % 700)
            known = {
                "email": f"{kind}{i}@{code_of[sid].lower()}.scale.example",
                "full_name": f"{first} {last} {last2}",
                "preferred_language": lang, "institution_id": top, "unit_id": unit,
                "member_state_id": sid, "badge_number": f"{code_of[sid]}-{100000 + i}",
                "status": "active", "password": "!" + format(h, "x"),  # unusable: no hashing
                "is_staff": False, "is_superuser": False, "date_joined": joined,
                "activated_at": joined, "failed_login_count": 0,
            }  # fmt: skip
            return (self.first_user_id + i, *(known[c] for c in columns), *extra_values)

        raw = connection.cursor().connection  # psycopg 3
        bar = tqdm(
            total=n + staff + coordinators, desc="people", disable=not self.progress, leave=False
        )
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {table('accounts.User')} ({', '.join(cols)}) FROM STDIN") as copy,
        ):
            for sid, (lo_, hi_) in self.blocks.items():
                tops = self.top_by_state[sid]
                units = self.units_by_state[sid]
                for i in range(lo_, hi_):
                    h = hash_int(i, self.seed + 1)
                    copy.write_row(
                        person(i, "officer", sid, tops[h % len(tops)], units[h % len(units)])
                    )
                bar.update(hi_ - lo_)
            # instructors, then one coordinator per top institution
            for j in range(staff):
                sid = self.state_ids[j % len(self.state_ids)]
                tops = self.top_by_state[sid]
                copy.write_row(person(n + j, "instructor", sid, tops[j % len(tops)], None))
            k = n + staff
            self.coordinator_ids: list[int] = []
            for sid, tops in self.top_by_state.items():
                for top in tops:
                    copy.write_row(person(k, "coordinator", sid, top, None))
                    self.coordinator_ids.append(self.first_user_id + k)
                    k += 1
            bar.update(staff + coordinators)
        bar.close()
        self.sql(
            f"SELECT setval(pg_get_serial_sequence('{table('accounts.User')}', 'id'), "
            f"(SELECT MAX(id) FROM {table('accounts.User')}))"
        )
        self.learner_lo = self.first_user_id
        self.learner_hi = self.first_user_id + n  # exclusive
        self.instructor_lo = self.first_user_id + n
        # roles
        p = self.params(lo=self.learner_lo, hi=self.learner_hi, ilo=self.instructor_lo,
                        ihi=self.instructor_lo + staff, learner=Role.LEARNER,
                        instructor=Role.INSTRUCTOR, coordinator=Role.COORDINATOR)  # fmt: skip
        insert_select(
            "accounts.RoleAssignment",
            {"user_id": "u.id", "role": "CASE WHEN u.id < %(hi)s THEN %(learner)s ELSE %(instructor)s END",
             "institution_id": "u.institution_id", "granted_at": "u.date_joined"},
            f"{table('accounts.User')} u WHERE u.id >= %(lo)s AND u.id < %(ihi)s",
            p, self.now,
        )  # fmt: skip
        insert_select(
            "accounts.RoleAssignment",
            {"user_id": "u.id", "role": "%(coordinator)s", "institution_id": "u.institution_id",
             "granted_at": "u.date_joined"},
            f"{table('accounts.User')} u WHERE u.id >= %(ihi)s",
            p, self.now,
        )  # fmt: skip

    # curricula --------------------------------------------------------------------------------
    def seed_curricula(self) -> None:
        from courses.models import Course, CourseVersion, Lesson, Module, Program, ProgramCourse

        tops = [t for v in self.top_by_state.values() for t in v]
        programs = Program.objects.bulk_create(
            Program(
                code=f"{MARKER}program-{i + 1}",
                title=dict(zip(LANGS, TOPICS[i], strict=True)),
                owner_institution_id=tops[i % len(tops)],
                default_language=LANGS[i % 4],
                ordered=i % 2 == 0,
            )
            for i in range(len(TOPICS))
        )
        for i, program in enumerate(programs):
            program.donors.add(self.donors[i % len(self.donors)])
        courses = []
        for i in range(self.sizes.courses):
            topic = TOPICS[i % len(TOPICS)]
            level = LEVELS[(i // len(TOPICS)) % len(LEVELS)]
            series = i // (len(TOPICS) * len(LEVELS)) + 1
            courses.append(
                Course(
                    code=f"{MARKER}course-{i + 1:04d}",
                    title={lang: f"{topic[k]} ({level[k]}) {series}" for k, lang in enumerate(LANGS)},
                    description={
                        "es": f"Curso de {topic[0].lower()}, nivel {level[0]}, para oficiales de policía.",
                        "en": f"A {level[1]} course in {topic[1].lower()} for police officers.",
                        "pt": f"Curso de {topic[2].lower()}, nível {level[2]}, para policiais.",
                        "fr": f"Un cours {level[3]} de {topic[3].lower()} pour les policiers.",
                    },
                    owner_institution_id=tops[i % len(tops)],
                    default_language=LANGS[i % 4],
                    languages="es en pt fr",
                    credit_hours=Decimal(10 + 5 * (i % 8)),
                    learning_outcomes={"es": ["Aplicar los procedimientos"], "en": ["Apply the procedures"]},
                    is_published=True,
                )
            )  # fmt: skip
        courses = Course.objects.bulk_create(courses)
        ProgramCourse.objects.bulk_create(
            ProgramCourse(
                program=programs[i % len(programs)], course=c, position=i // len(programs)
            )
            for i, c in enumerate(courses)
        )
        # every course has a frozen version 1; one in five also a current version 2
        versions = CourseVersion.objects.bulk_create(
            CourseVersion(course=c, number=n, is_frozen=True, created_at=self.now - dt.timedelta(days=800 - 300 * n))
            for i, c in enumerate(courses) for n in ((1, 2) if i % 5 == 0 else (1,))
        )  # fmt: skip
        current: dict[int, CourseVersion] = {}
        for v in versions:
            current[v.course_id] = v
        for c in courses:
            c.current_version = current[c.pk]
        Course.objects.bulk_update(courses, ["current_version"])
        modules = Module.objects.bulk_create(
            Module(version=v, position=p, title={
                "es": f"Módulo {p}", "en": f"Module {p}", "pt": f"Módulo {p}", "fr": f"Module {p}"})
            for v in versions for p in (1, 2, 3)
        )  # fmt: skip
        text = {
            "es": "<p>" + "El oficial documenta el procedimiento y protege la escena. " * 40 + "</p>",
            "en": "<p>" + "The officer documents the procedure and protects the scene. " * 40 + "</p>",
            "pt": "<p>" + "O policial documenta o procedimento e protege a cena. " * 40 + "</p>",
            "fr": "<p>" + "L'agent documente la procédure et protège la scène. " * 40 + "</p>",
        }  # fmt: skip
        lessons = []
        for m in modules:
            for p in range(1, 4 if m.position < 3 else 3):  # 3 + 3 + 2 = 8 lessons per version
                pos = (m.position - 1) * 3 + p
                kind = LESSON_KINDS[pos - 1]
                key = uuid.UUID(
                    int=hash_int(m.pk * 10 + p, self.seed) & ((1 << 128) - 1), version=4
                )
                lessons.append(Lesson(
                    version_id=m.version_id, module=m, position=pos, kind=kind,
                    title={"es": f"Lección {pos}", "en": f"Lesson {pos}", "pt": f"Lição {pos}",
                           "fr": f"Leçon {pos}"},
                    body=text, key=key,
                    activity_id=f"{self.site}/xapi/activities/lesson/{key}",
                    launch_url="/static/courses/xapi-demo/index.html" if kind == "xapi" else "",
                    video_url="https://video.example.org/lesson.mp4" if kind == "video" else "",
                    requires_pass=kind == "assessment",
                ))  # fmt: skip
        Lesson.objects.bulk_create(lessons, batch_size=2000)
        self.course_ids = [c.pk for c in courses]

    # runs -------------------------------------------------------------------------------------
    def seed_runs(self) -> None:
        from courses.models import Course, CourseRun, CourseVersion, RunInstructor, Session

        courses = list(Course.objects.filter(code__startswith=MARKER).order_by("pk"))
        # older virtual runs stay on version 1 of a course that has a version 2
        first_version = dict(
            CourseVersion.objects.filter(course__in=courses, number=1).values_list(
                "course_id", "pk"
            )
        )
        current: dict[int, int] = {c.pk: int(c.current_version_id or 0) for c in courses}
        runs: list[CourseRun] = []
        # Virtual self-paced runs (national or hemisphere-wide), some blended.
        for i in range(self.sizes.virtual_runs):
            c = courses[i % len(courses)]
            sid = self.state_ids[i % len(self.state_ids)] if i % 4 else None
            mode = "blended" if i % 10 == 9 else "virtual"
            runs.append(CourseRun(
                course=c, version_id=first_version[c.pk] if i % 3 == 0 else current[c.pk],
                code=f"{MARKER}v-{i + 1:05d}", mode=mode, status="open",
                language=self.state_langs.get(sid, LANGS[i % 4]) if sid else LANGS[i % 4],
                host_institution_id=self.top_by_state[sid][0] if sid else None,
                member_state_id=sid,
                starts_on=(self.now - dt.timedelta(days=400 - (i % 300))).date(),
                enrolment_opens=self.now - dt.timedelta(days=420),
                capacity=None, self_enrolment=True,
            ))  # fmt: skip
        # On-site runs in every member state, 20-340 officers for 2 to 4 weeks.
        for i in range(self.sizes.onsite_runs):
            c = courses[(i * 7) % len(courses)]
            sid = self.state_ids[hash_int(i, self.seed + 7) % len(self.state_ids)]
            start = (self.now - dt.timedelta(days=360 - (i * 3) % 390)).date()
            runs.append(CourseRun(
                course=c, version_id=current[c.pk], code=f"{MARKER}o-{i + 1:05d}",
                mode="onsite", status="closed" if start < self.now.date() - dt.timedelta(days=30) else "open",
                language=self.state_langs[sid], host_institution_id=self.top_by_state[sid][0],
                member_state_id=sid, venue=f"Academy hall {1 + i % 9}", starts_on=start,
                ends_on=start + dt.timedelta(days=14 + 7 * (i % 3)),
                capacity=[20, 30, 40, 60, 340][i % 5], requires_approval=i % 2 == 0,
                self_enrolment=False, qualifies_trainers=i % 15 == 0,
            ))  # fmt: skip
        runs = CourseRun.objects.bulk_create(runs, batch_size=2000)
        n_instr = self.sizes.instructors
        RunInstructor.objects.bulk_create(
            RunInstructor(run=r, user_id=self.instructor_lo + (k * 37 + j) % n_instr,
                          role="lead" if j == 0 else "assistant")
            for k, r in enumerate(runs) for j in range(1 if r.mode == "virtual" else 2)
        )  # fmt: skip
        sessions = []
        for r in runs:
            if r.mode == "virtual" or r.starts_on is None:
                continue
            for d in range(10):
                day = dt.datetime.combine(
                    r.starts_on + dt.timedelta(days=d + 2 * (d // 5)), dt.time(14), tzinfo=dt.UTC
                )
                sessions.append(Session(run=r, title={"es": f"Sesión {d + 1}", "en": f"Session {d + 1}",
                                        "pt": f"Sessão {d + 1}", "fr": f"Séance {d + 1}"}, starts_at=day, ends_at=day + dt.timedelta(hours=4),
                                        room=f"Room {1 + d % 4}"))  # fmt: skip
        Session.objects.bulk_create(sessions, batch_size=5000)

    # enrolments -------------------------------------------------------------------------------
    def seed_enrolments(self) -> None:
        """5 virtual/blended runs per learner, plus the on-site runs filled from their state."""
        run_t = table("courses.CourseRun")
        user_t = table("accounts.User")
        self.sql(
            f"CREATE UNLOGGED TABLE seed_vruns AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, "
            f"version_id, member_state_id FROM {run_t} WHERE code LIKE %(m)s AND mode <> 'onsite'",
            {"m": MARKER + "v-%"},
        )
        nv = int(self.scalar("SELECT count(*) FROM seed_vruns"))
        status = (
            "CASE WHEN pg_temp.r(u.id*8+j, 1, %(seed)s) < 0.38 THEN 'completed' "
            "WHEN pg_temp.r(u.id*8+j, 1, %(seed)s) < 0.95 THEN 'active' ELSE 'withdrawn' END"
        )
        common = {
            "user_id": "u.id",
            "run_id": "v.id",
            "version_id": "v.version_id",
            "registration": uuid4_sql("%(seed)s || '-' || u.id || '-' || v.id"),
            "enrolled_at": "%(now)s - (interval '1 day' * (20 + floor(pg_temp.r(u.id*8+j, 2, %(seed)s) * 600)))",
            "institution_id": "u.institution_id",
            "member_state_id": "u.member_state_id",
            "last_activity_at": "%(now)s - (interval '1 hour' * floor(pg_temp.r(u.id*8+j, 3, %(seed)s) * 24 * 60))",
        }  # fmt: skip
        ordered = (
            f"(SELECT u.*, j, {status} AS st FROM {user_t} u CROSS JOIN generate_series(0, 4) j "
            f"WHERE u.id >= %(lo)s AND u.id < %(hi)s) u "
            f"JOIN seed_vruns v ON v.k = ((hashint8extended(u.id, %(seed)s) & 2147483647) + j * "
            f"(%(nv)s / 5)) %% %(nv)s"
        )
        exprs = {
            **common,
            "status": "u.st",
            "progress_pct": "CASE WHEN u.st = 'completed' THEN 100 ELSE floor(pg_temp.r(u.id*8+j, 4, %(seed)s) * 100)::int END",
            "completed_at": "CASE WHEN u.st = 'completed' THEN %(now)s - (interval '1 day' * floor(pg_temp.r(u.id*8+j, 5, %(seed)s) * 19)) END",
            "score_pct": "CASE WHEN u.st = 'completed' THEN round((55 + pg_temp.r(u.id*8+j, 6, %(seed)s) * 45)::numeric, 2) END",
            "passed": "CASE WHEN u.st = 'completed' THEN true END",
        }  # fmt: skip
        n = self.sizes.learners
        # One chunk after the other, each in the learners' order: enrolment ids come from the
        # sequence, and the attendance marks, certificate codes and statements are drawn from
        # them, so that chunks inserting at once (in whatever order their rows interleave) made
        # each seed's rows differ (a few dozen statements, every code).
        for lo, hi in self.chunks("enrolments", n, self.chunk):
            insert_select(
                "courses.Enrollment", exprs, f"{ordered} ORDER BY u.id, j",
                self.params(lo=self.learner_lo + lo, hi=self.learner_lo + hi, nv=nv), self.now,
            )  # fmt: skip
        # on-site: a run of capacity c in state s takes c officers of s's block, in turn.
        run_rows = self.scalar(
            f"SELECT json_agg(json_build_array(id, member_state_id, capacity, version_id, status) "
            f"ORDER BY id) FROM {run_t} WHERE code LIKE %(m)s",
            {"m": MARKER + "o-%"},
        )
        offsets: dict[int, int] = {}
        values = []
        for rid, sid, cap, vid, rstatus in (
            json.loads(run_rows) if isinstance(run_rows, str) else run_rows
        ):
            lo_, hi_ = self.blocks[sid]
            size = hi_ - lo_
            take = min(cap, size)
            start = offsets.get(sid, 0)
            offsets[sid] = (start + take) % size
            values.append((rid, sid, vid, take, start, lo_, size, rstatus == "closed"))
        self.sql(
            "CREATE UNLOGGED TABLE seed_oruns (id int, sid int, vid int, take int, start int, lo int, size int, closed bool)"
        )
        with (
            connection.cursor().connection.cursor() as cur,
            cur.copy("COPY seed_oruns FROM STDIN") as copy,
        ):
            for row in values:
                copy.write_row(row)
        exprs_o = {
            **common,
            "version_id": "o.vid",
            "run_id": "o.id",
            "registration": uuid4_sql("%(seed)s || '-' || u.id || '-' || o.id"),
            "status": "CASE WHEN NOT o.closed THEN 'active' WHEN pg_temp.r(u.id*8+j, 7, %(seed)s) < 0.9 THEN 'completed' ELSE 'active' END",
            "progress_pct": "CASE WHEN o.closed AND pg_temp.r(u.id*8+j, 7, %(seed)s) < 0.9 THEN 100 ELSE floor(pg_temp.r(u.id*8+j, 4, %(seed)s) * 100)::int END",
            "attendance_pct": "CASE WHEN o.closed THEN 70 + floor(pg_temp.r(u.id*8+j, 8, %(seed)s) * 31)::int END",
            "completed_at": "CASE WHEN o.closed AND pg_temp.r(u.id*8+j, 7, %(seed)s) < 0.9 THEN %(now)s - interval '20 days' END",
            "score_pct": "CASE WHEN o.closed AND pg_temp.r(u.id*8+j, 7, %(seed)s) < 0.9 THEN round((60 + pg_temp.r(u.id*8+j, 6, %(seed)s) * 40)::numeric, 2) END",
            "passed": "CASE WHEN o.closed AND pg_temp.r(u.id*8+j, 7, %(seed)s) < 0.9 THEN true END",
        }  # fmt: skip
        insert_select(
            "courses.Enrollment", exprs_o,
            f"seed_oruns o CROSS JOIN LATERAL generate_series(0, o.take - 1) g(i) "
            f"JOIN {user_t} u ON u.id = %(lo)s + o.lo + (o.start + g.i) %% o.size "
            f"CROSS JOIN (SELECT 5 AS j) jj ORDER BY o.id, g.i",
            self.params(lo=self.learner_lo), self.now,
        )  # fmt: skip
        # the history: one event for enrolling, one for completing
        enr = table("courses.Enrollment")
        insert_select(
            "courses.EnrollmentEvent",
            {"enrollment_id": "e.id", "from_status": "''", "to_status": "'active'", "at": "e.enrolled_at"},
            f"{enr} e JOIN {run_t} r ON r.id = e.run_id AND r.code LIKE %(m)s",
            self.params(m=MARKER + "%"), self.now,
        )  # fmt: skip
        insert_select(
            "courses.EnrollmentEvent",
            {"enrollment_id": "e.id", "from_status": "'active'", "to_status": "e.status",
             "at": "COALESCE(e.completed_at, e.last_activity_at, e.enrolled_at)"},
            f"{enr} e JOIN {run_t} r ON r.id = e.run_id AND r.code LIKE %(m)s WHERE e.status <> 'active'",
            self.params(m=MARKER + "%"), self.now,
        )  # fmt: skip
        # the lesson the learner reached, for "continue where you left off"
        self.sql(
            f"CREATE UNLOGGED TABLE seed_lessons AS SELECT l.id, l.version_id, l.position, l.kind, l.activity_id "
            f"FROM {table('courses.Lesson')} l JOIN {table('courses.CourseVersion')} v ON v.id = l.version_id "
            f"JOIN {table('courses.Course')} c ON c.id = v.course_id WHERE c.code LIKE %(m)s",
            {"m": MARKER + "%"},
        )  # fmt: skip
        self.sql("CREATE INDEX ON seed_lessons (version_id, position)")
        self.sql("ANALYZE seed_lessons")
        self.sql(f"ANALYZE {enr}")

    def seeded_enrolments(self) -> str:
        return (
            f"(SELECT e.* FROM {table('courses.Enrollment')} e WHERE e.user_id >= %(lo)s "
            f"AND e.user_id < %(hi)s)"
        )

    def seed_lesson_progress(self) -> None:
        """Lessons done in order up to progress_pct of the version's eight."""
        exprs = {
            "enrollment_id": "e.id",
            "lesson_id": "l.id",
            "status": "CASE WHEN l.position <= floor(e.progress_pct * 8 / 100.0) THEN 'completed' ELSE 'started' END",
            "passed": "CASE WHEN l.kind = 'assessment' AND l.position <= floor(e.progress_pct * 8 / 100.0) THEN true END",
            "score_pct": "CASE WHEN l.kind = 'assessment' AND l.position <= floor(e.progress_pct * 8 / 100.0) THEN e.score_pct END",
            "started_at": "e.enrolled_at + interval '1 day' * l.position",
            "completed_at": "CASE WHEN l.position <= floor(e.progress_pct * 8 / 100.0) THEN e.enrolled_at + interval '1 day' * l.position + interval '30 minutes' END",
        }  # fmt: skip

        def chunk(lo: int, hi: int) -> None:
            insert_select(
                "courses.LessonProgress", exprs,
                f"{self.seeded_enrolments()} e JOIN seed_lessons l ON l.version_id = e.version_id "
                f"AND l.position <= floor(e.progress_pct * 8 / 100.0) + 1 AND e.progress_pct > 0",
                self.params(lo=self.learner_lo + lo, hi=self.learner_lo + hi), self.now,
            )  # fmt: skip

        self.parallel("lesson progress", self.sizes.learners, 10_000, chunk)
        # last lesson reached
        self.sql(
            f"UPDATE {table('courses.Enrollment')} e SET last_lesson_id = l.id FROM seed_lessons l "
            f"WHERE l.version_id = e.version_id AND l.position = LEAST(8, floor(e.progress_pct * 8 / 100.0)::int + 1) "
            f"AND e.user_id >= %(lo)s AND e.user_id < %(hi)s",
            self.params(lo=self.learner_lo, hi=self.learner_hi),
        )  # fmt: skip

    def seed_attendance(self) -> None:
        exprs = {
            "session_id": "s.id",
            "enrollment_id": "e.id",
            "status": "CASE WHEN pg_temp.r(e.id * 16 + s.id, 9, %(seed)s) < 0.88 THEN 'present' "
            "WHEN pg_temp.r(e.id * 16 + s.id, 9, %(seed)s) < 0.95 THEN 'late' ELSE 'absent' END",
            "recorded_by_id": "(SELECT ri.user_id FROM "
            + table("courses.RunInstructor")
            + " ri WHERE ri.run_id = s.run_id ORDER BY ri.id LIMIT 1)",
            "recorded_at": "s.ends_at",
        }
        insert_select(
            "courses.AttendanceRecord", exprs,
            f"{table('courses.Session')} s JOIN {table('courses.Enrollment')} e ON e.run_id = s.run_id "
            f"WHERE s.starts_at < %(now)s AND e.status IN ('active', 'completed') "
            f"AND e.user_id >= %(lo)s AND e.user_id < %(hi)s",
            self.params(lo=self.learner_lo, hi=self.learner_hi), self.now,
        )  # fmt: skip

    # assessments ------------------------------------------------------------------------------
    def seed_attempts(self) -> None:
        """An exam for every assessment lesson; one graded attempt per learner who reached it."""
        ass_t = table("assessments.Assessment")
        insert_select(
            "assessments.Assessment",
            {"lesson_id": "l.id", "kind": "'exam'", "time_limit_minutes": "60",
             "max_attempts": "2"},
            "seed_lessons l WHERE l.kind = 'assessment'", self.params(), self.now,
        )  # fmt: skip
        self.sql(
            f"CREATE UNLOGGED TABLE seed_ass AS SELECT a.id, l.version_id, l.position FROM {ass_t} a "
            f"JOIN seed_lessons l ON l.id = a.lesson_id"
        )
        exprs = {
            "assessment_id": "a.id",
            "enrollment_id": "e.id",
            "run_id": "e.run_id",
            "user_id": "e.user_id",
            "number": "1",
            "status": "CASE WHEN e.progress_pct >= 100 THEN 'released' ELSE 'in_progress' END",
            "started_at": "COALESCE(e.completed_at, %(now)s) - interval '50 minutes'",
            "deadline": "COALESCE(e.completed_at, %(now)s) + interval '10 minutes'",
            "submitted_at": "CASE WHEN e.progress_pct >= 100 THEN COALESCE(e.completed_at, %(now)s) - interval '5 minutes' END",
            "score": "CASE WHEN e.progress_pct >= 100 THEN e.score_pct / 5 END",
            "max_score": "20",
            "score_pct": "CASE WHEN e.progress_pct >= 100 THEN e.score_pct END",
            "passed": "CASE WHEN e.progress_pct >= 100 THEN true END",
            "released_at": "CASE WHEN e.progress_pct >= 100 THEN e.completed_at END",
        }  # fmt: skip

        def chunk(lo: int, hi: int) -> None:
            insert_select(
                "assessments.Attempt", exprs,
                f"{self.seeded_enrolments()} e JOIN seed_ass a ON a.version_id = e.version_id "
                f"WHERE e.progress_pct >= 85 AND e.status <> 'withdrawn'",
                self.params(lo=self.learner_lo + lo, hi=self.learner_lo + hi), self.now,
            )  # fmt: skip

        self.parallel("attempts", self.sizes.learners, 20_000, chunk)

    # certificates -----------------------------------------------------------------------------
    def seed_certificates(self) -> None:
        """One certificate per completed, passed enrolment, with unique code and status bit."""
        enr, run_t, course_t = (
            table("courses.Enrollment"),
            table("courses.CourseRun"),
            table("courses.Course"),
        )
        user_t = table("accounts.User")
        base = int(
            self.scalar(
                f"SELECT COALESCE(MAX(status_index), -1) + 1 FROM {table('certification.Certificate')}"
            )
        )
        exprs = {
            "id": uuid4_sql("'cert-' || %(seed)s || '-' || e.id"),
            # 12 characters of an unambiguous alphabet from a hash: not enumerable, not sequential
            "code": "translate(upper(substr(md5('code-' || %(seed)s || '-' || e.id), 1, 12)), '01', 'XY')",
            "kind": "'course'",
            "user_id": "e.user_id",
            "enrollment_id": "e.id",
            "run_id": "e.run_id",
            "course_id": "r.course_id",
            "institution_id": "e.institution_id",
            "issuing_institution_id": "COALESCE(r.host_institution_id, c.owner_institution_id)",
            "language": "u.preferred_language",
            "holder_name": "u.full_name",
            "title": "c.title",
            "credit_hours": "c.credit_hours",
            "issued_at": "e.completed_at + interval '2 minutes'",
            "expires_on": "(e.completed_at + interval '3 years')::date",
            # a permutation of 0..N-1 (7919 is prime to any N not divisible by it)
            "status_index": "%(base)s + ((e.rn * 7919) %% %(n)s)",
        }  # fmt: skip
        n = int(self.scalar(f"SELECT count(*) FROM {enr} WHERE status = 'completed' AND passed AND user_id >= %(lo)s AND user_id < %(hi)s",
                            self.params(lo=self.learner_lo, hi=self.learner_hi)))  # fmt: skip
        if n % 7919 == 0:
            n += 1
        insert_select(
            "certification.Certificate", exprs,
            f"(SELECT e.*, row_number() OVER (ORDER BY e.id) - 1 AS rn FROM {enr} e WHERE e.status = 'completed' "
            f"AND e.passed AND e.user_id >= %(lo)s AND e.user_id < %(hi)s) e "
            f"JOIN {run_t} r ON r.id = e.run_id JOIN {course_t} c ON c.id = r.course_id "
            f"JOIN {user_t} u ON u.id = e.user_id",
            self.params(lo=self.learner_lo, hi=self.learner_hi, base=base, n=n), self.now,
        )  # fmt: skip

    # statements -------------------------------------------------------------------------------
    def seed_statements(self) -> None:
        """About ten statements per enrolment: registered, launched, experienced lessons,
        answered/scored/passed for the exam, completed."""
        from lms.xapi.verbs import VERBS

        verbs = ["registered", "launched", "experienced", "experienced", "experienced",
                 "experienced", "experienced", "answered", "scored", "passed", "completed"]  # fmt: skip
        verb_rows = [
            (k, VERBS[v]["id"], json.dumps(VERBS[v]["display"], ensure_ascii=False))
            for k, v in enumerate(verbs)
        ]
        self.sql("CREATE UNLOGGED TABLE seed_verbs (k int, iri text, display jsonb)")
        with (
            connection.cursor().connection.cursor() as cur,
            cur.copy("COPY seed_verbs FROM STDIN") as copy,
        ):
            for row in verb_rows:
                copy.write_row(row)
        home = self.site
        authority = {"objectType": "Agent", "name": "Police Training Network LMS",
                     "account": {"homePage": home, "name": "lms"}}  # fmt: skip
        # statement k of an enrolment exists when the learner got that far (k-th of 11 steps)
        exprs = {
            "statement_id": uuid4_sql("'st-' || %(seed)s || '-' || e.id || '-' || k.k"),
            "actor_key": "'account:' || %(site)s || '|' || e.user_id",
            "verb_id": "k.iri",
            "activity_id": "CASE WHEN k.k IN (0, 10) THEN %(site)s || '/xapi/activities/course/' || c.code "
            "ELSE l.activity_id END",
            "registration": "e.registration",
            "related_activities": "jsonb_build_array(CASE WHEN k.k IN (0, 10) THEN %(site)s || '/xapi/activities/course/' || c.code ELSE l.activity_id END, %(site)s || '/xapi/activities/course/' || c.code)",
            "related_agents": "jsonb_build_array('account:' || %(site)s || '|' || e.user_id, 'account:' || %(site)s || '|lms')",
            "timestamp": "e.enrolled_at + interval '1 hour' * k.k * (1 + e.id %% 48)",
            "stored": "e.enrolled_at + interval '1 hour' * k.k * (1 + e.id %% 48) + interval '1 second'",
            "voided": "false",
            "institution_id": "e.institution_id",
            "user_id": "e.user_id",
            "has_attachments": "false",
            "data": """jsonb_build_object(
                'id', overlay(overlay(md5('st-' || %(seed)s || '-' || e.id || '-' || k.k) placing '4' from 13) placing '8' from 17)::uuid,
                'actor', jsonb_build_object('objectType', 'Agent', 'name', u.full_name,
                    'account', jsonb_build_object('homePage', %(site)s, 'name', e.user_id::text)),
                'verb', jsonb_build_object('id', k.iri, 'display', k.display),
                'object', jsonb_build_object('objectType', 'Activity', 'id',
                    CASE WHEN k.k IN (0, 10) THEN %(site)s || '/xapi/activities/course/' || c.code ELSE l.activity_id END,
                    'definition', jsonb_build_object('name', CASE WHEN k.k IN (0, 10) THEN c.title ELSE
                        jsonb_build_object('en-US', 'Lesson ' || l.position) END)),
                'context', jsonb_build_object('registration', e.registration,
                    'contextActivities', jsonb_build_object('parent', jsonb_build_array(
                        jsonb_build_object('objectType', 'Activity', 'id', %(site)s || '/xapi/activities/course/' || c.code))),
                    'platform', 'Police Training Network LMS'),
                'result', CASE WHEN k.k IN (8, 9) THEN jsonb_build_object('score', jsonb_build_object(
                    'scaled', round(COALESCE(e.score_pct, 80) / 100, 4), 'raw', COALESCE(e.score_pct, 80),
                    'min', 0, 'max', 100), 'success', true, 'completion', true)
                    WHEN k.k = 10 THEN jsonb_build_object('completion', true, 'duration', 'PT' || (2 + e.id %% 30) || 'H') END,
                'timestamp', to_char((e.enrolled_at + interval '1 hour' * k.k * (1 + e.id %% 48)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'stored', to_char((e.enrolled_at + interval '1 hour' * k.k * (1 + e.id %% 48) + interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'authority', %(authority)s::jsonb,
                'version', '1.0.3')""",
        }
        # strip nulls (the LRS never stores "result": null)
        exprs["data"] = f"jsonb_strip_nulls({exprs['data']})"
        reach = (
            "CASE WHEN k.k = 0 THEN true WHEN k.k = 10 THEN e.status = 'completed' "
            "WHEN k.k IN (8, 9) THEN e.progress_pct >= 85 AND e.passed IS NOT NULL "
            "ELSE (k.k - 1) * 100 / 8 <= e.progress_pct END"
        )
        # a lesson for each step: steps 1..7 walk the lessons 1..7, the exam steps use lesson 8
        lesson_pos = "LEAST(8, GREATEST(1, CASE WHEN k.k >= 7 THEN 8 ELSE k.k END))"

        def chunk(lo: int, hi: int) -> None:
            insert_select(
                "xapi.Statement", exprs,
                f"{self.seeded_enrolments()} e CROSS JOIN seed_verbs k "
                f"JOIN {table('courses.CourseRun')} r ON r.id = e.run_id "
                f"JOIN {table('courses.Course')} c ON c.id = r.course_id "
                f"JOIN {table('accounts.User')} u ON u.id = e.user_id "
                f"JOIN seed_lessons l ON l.version_id = e.version_id AND l.position = {lesson_pos} "
                f"WHERE {reach}",
                self.params(lo=self.learner_lo + lo, hi=self.learner_lo + hi,
                            authority=json.dumps(authority)), self.now,
            )  # fmt: skip

        self.parallel("statements", self.sizes.learners, 5_000, chunk)
        self.seed_attendance_statements(authority)

    def seed_attendance_statements(self, authority: dict[str, Any]) -> None:
        """One "attended" statement per session an officer was present at (or late for), as the
        attendance page emits them: about two million at full size."""
        from lms.xapi.verbs import VERBS

        session = "%(site)s || '/xapi/activities/session/' || a.session_id"
        course = "%(site)s || '/xapi/activities/course/' || c.code"
        statement_id = uuid4_sql("'sa-' || %(seed)s || '-' || a.id")
        iso = '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\''
        exprs = {
            "statement_id": statement_id,
            "actor_key": "'account:' || %(site)s || '|' || e.user_id",
            "verb_id": "%(verb)s",
            "activity_id": session,
            "registration": "e.registration",
            "related_activities": f"jsonb_build_array({session}, {course})",
            "related_agents": "jsonb_build_array('account:' || %(site)s || '|' || e.user_id, "
            "'account:' || %(site)s || '|lms')",
            "timestamp": "a.recorded_at",
            "stored": "a.recorded_at + interval '1 second'",
            "voided": "false",
            "institution_id": "e.institution_id",
            "user_id": "e.user_id",
            "has_attachments": "false",
            "data": f"""jsonb_build_object(
                'id', {statement_id},
                'actor', jsonb_build_object('objectType', 'Agent', 'name', u.full_name,
                    'account', jsonb_build_object('homePage', %(site)s, 'name', e.user_id::text)),
                'verb', jsonb_build_object('id', %(verb)s, 'display', %(display)s::jsonb),
                'object', jsonb_build_object('objectType', 'Activity', 'id', {session},
                    'definition', jsonb_build_object(
                        'type', 'http://adlnet.gov/expapi/activities/meeting')),
                'context', jsonb_build_object('registration', e.registration,
                    'contextActivities', jsonb_build_object('parent', jsonb_build_array(
                        jsonb_build_object('objectType', 'Activity', 'id', {course}))),
                    'platform', 'Police Training Network LMS'),
                'timestamp', to_char(a.recorded_at AT TIME ZONE 'UTC', {iso}),
                'stored', to_char((a.recorded_at + interval '1 second') AT TIME ZONE 'UTC', {iso}),
                'authority', %(authority)s::jsonb,
                'version', '1.0.3')""",
        }

        def chunk(lo: int, hi: int) -> None:
            insert_select(
                "xapi.Statement", exprs,
                f"{self.seeded_enrolments()} e "
                f"JOIN {table('courses.AttendanceRecord')} a ON a.enrollment_id = e.id "
                f"JOIN {table('courses.CourseRun')} r ON r.id = e.run_id "
                f"JOIN {table('courses.Course')} c ON c.id = r.course_id "
                f"JOIN {table('accounts.User')} u ON u.id = e.user_id "
                f"WHERE a.status IN ('present', 'late')",
                self.params(lo=self.learner_lo + lo, hi=self.learner_lo + hi,
                            authority=json.dumps(authority), verb=VERBS["attended"]["id"],
                            display=json.dumps(VERBS["attended"]["display"], ensure_ascii=False)),
                self.now,
            )  # fmt: skip

        self.parallel("statements (attended)", self.sizes.learners, 10_000, chunk)

    # counters ---------------------------------------------------------------------------------
    def update_counters(self) -> None:
        run_t, enr = table("courses.CourseRun"), table("courses.Enrollment")
        self.sql(
            f"UPDATE {run_t} r SET active_count = c.active, completed_count = c.completed, "
            f"waitlist_count = c.waiting FROM (SELECT run_id, "
            f"count(*) FILTER (WHERE status = 'active') AS active, "
            f"count(*) FILTER (WHERE status = 'completed') AS completed, "
            f"count(*) FILTER (WHERE status = 'waitlisted') AS waiting FROM {enr} GROUP BY run_id) c "
            f"WHERE c.run_id = r.id AND r.code LIKE %(m)s",
            {"m": MARKER + "%"},
        )
        for t in [
            "accounts.User",
            "courses.Enrollment",
            "courses.LessonProgress",
            "xapi.Statement",
        ]:
            self.sql(f"ANALYZE {table(t)}")


# The seeded tables, vacuumed once loaded (vacuum_seeded). A bulk-loaded page carries no hint
# bits and is not in the visibility map: the first request to read each row would write its
# page back, and autovacuum would go through the tables (the statements table: 18 GB at full
# size) during the first load test. At 200,000 learners this took 96 s on a 2-core machine.
VACUUMED = [
    "accounts.User", "accounts.RoleAssignment", "courses.CourseRun", "courses.Enrollment",
    "courses.EnrollmentEvent", "courses.LessonProgress", "courses.AttendanceRecord",
    "assessments.Attempt", "certification.Certificate", "dashboards.LearnerActivity",
    "dashboards.UserActivity", "dashboards.PlaceActivity", "xapi.Statement",
]  # fmt: skip


def vacuum_seeded(*, progress: bool = True) -> float:
    """VACUUM (ANALYZE) the VACUUMED tables of installed apps; the seconds it took."""
    start = time.perf_counter()
    names = []
    for label in VACUUMED:
        try:
            names.append(apps.get_model(label)._meta.db_table)
        except LookupError:
            continue
    with connection.cursor() as cur:
        for name in tqdm(names, desc="vacuum", disable=not progress, leave=False):
            cur.execute(f'VACUUM (ANALYZE) "{name}"')
    return round(time.perf_counter() - start, 1)


def hash_int(i: int, seed: int) -> int:
    """A repeatable 64-bit mix of (i, seed) (splitmix64), for names made in Python."""
    z = (i * 0x9E3779B97F4A7C15 + seed * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & (2**64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    return z ^ (z >> 31)
