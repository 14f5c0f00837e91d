"""Demo assessments: a timed quiz in the demo course (every objective kind and an essay graded with
a rubric), drawn from two categories of the course's question bank, and a cadet of the on-site
run who has submitted it, so that the instructor's grading queue has an essay waiting; and a
practical evaluation (a checklist the instructor marks on site for every officer of the run on
one page; see `manage.py seed_demo`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from assessments.models import (
    Assessment,
    AssessmentSection,
    Question,
    QuestionCategory,
    Rubric,
    RubricCriterion,
    RubricLevel,
)
from courses.models import Lesson

K = Question.Kind


def _t(es: str, en: str, pt: str, fr: str) -> dict[str, str]:
    return {"es": es, "en": en, "pt": pt, "fr": fr}


def _options(*texts: dict[str, str]) -> list[dict[str, Any]]:
    return [{"id": chr(ord("a") + i), "text": text} for i, text in enumerate(texts)]


FORCE = [
    (
        K.SINGLE,
        _t("¿Qué principio exige usar solo la fuerza indispensable?",
           "Which principle requires using only the force that is indispensable?",
           "Qual princípio exige usar apenas a força indispensável?",
           "Quel principe exige de n'utiliser que la force indispensable ?"),
        {"options": _options(_t("Legalidad", "Legality", "Legalidade", "Légalité"),
                             _t("Necesidad", "Necessity", "Necessidade", "Nécessité"),
                             _t("Publicidad", "Publicity", "Publicidade", "Publicité"))},
        {"correct": "b"},
    ),
    (
        K.MULTIPLE,
        _t("¿Cuáles son principios del uso de la fuerza?",
           "Which are principles of the use of force?",
           "Quais são princípios do uso da força?",
           "Lesquels sont des principes de l'usage de la force ?"),
        {"options": _options(_t("Proporcionalidad", "Proportionality", "Proporcionalidade", "Proportionnalité"),
                             _t("Venganza", "Revenge", "Vingança", "Vengeance"),
                             _t("Rendición de cuentas", "Accountability", "Responsabilização", "Redevabilité"),
                             _t("Rapidez", "Speed", "Rapidez", "Rapidité"))},
        {"correct": ["a", "c"]},
    ),
    (
        K.TRUE_FALSE,
        _t("Las armas de fuego son el último recurso.",
           "Firearms are the last resort.",
           "As armas de fogo são o último recurso.",
           "Les armes à feu sont le dernier recours."),
        {},
        {"correct": True},
    ),
    (
        K.ORDERING,
        _t("Ordene los niveles de intervención, del menor al mayor.",
           "Order the levels of intervention, from least to most.",
           "Ordene os níveis de intervenção, do menor ao maior.",
           "Classez les niveaux d'intervention, du plus faible au plus fort."),
        {"items": [
            {"id": "i1", "text": _t("Presencia", "Presence", "Presença", "Présence")},
            {"id": "i2", "text": _t("Verbalización", "Verbal commands", "Verbalização", "Injonctions verbales")},
            {"id": "i3", "text": _t("Control físico", "Physical control", "Controle físico", "Contrôle physique")},
        ]},
        {"order": ["i1", "i2", "i3"]},
    ),
]  # fmt: skip

RIGHTS = [
    (
        K.NUMERIC,
        _t("¿Cuántos artículos tiene la Declaración Universal de Derechos Humanos?",
           "How many articles does the Universal Declaration of Human Rights have?",
           "Quantos artigos tem a Declaração Universal dos Direitos Humanos?",
           "Combien d'articles compte la Déclaration universelle des droits de l'homme ?"),
        {},
        {"value": 30, "tolerance": 0},
    ),
    (
        K.SHORT_TEXT,
        _t("¿Qué organización internacional de policía tiene su sede en Lyon?",
           "Which international police organisation has its headquarters in Lyon?",
           "Qual organização internacional de polícia tem sede em Lyon?",
           "Quelle organisation internationale de police a son siège à Lyon ?"),
        {},
        {"accepted": ["Interpol", "OIPC-Interpol"], "pattern": r"(oipc[- ])?inter ?pol"},
    ),
    (
        K.MATCHING,
        _t("Relacione cada derecho con su ejemplo.",
           "Match each right with its example.",
           "Relacione cada direito com o seu exemplo.",
           "Associez chaque droit à son exemple."),
        {"prompts": [
            {"id": "p1", "text": _t("Reunión pacífica", "Peaceful assembly", "Reunião pacífica", "Réunion pacifique")},
            {"id": "p2", "text": _t("Debido proceso", "Due process", "Devido processo", "Procès équitable")},
         ],
         "choices": [
            {"id": "x", "text": _t("Una manifestación", "A demonstration", "Uma manifestação", "Une manifestation")},
            {"id": "y", "text": _t("Un abogado en el interrogatorio", "A lawyer at questioning", "Um advogado no interrogatório", "Un avocat pendant l'interrogatoire")},
         ]},
        {"pairs": {"p1": "x", "p2": "y"}},
    ),
    (
        K.ESSAY,
        _t("Describa cómo reduciría la tensión en una protesta pacífica.",
           "Describe how you would de-escalate a peaceful protest.",
           "Descreva como reduziria a tensão em um protesto pacífico.",
           "Décrivez comment vous désamorceriez une manifestation pacifique."),
        {},
        {},
    ),
]  # fmt: skip


def _rubric(course: Any) -> Rubric:
    rubric, made = Rubric.objects.get_or_create(
        course=course,
        title=_t(
            "Rúbrica de ensayo", "Essay rubric", "Rubrica de dissertação", "Grille de dissertation"
        ),
    )
    if made:
        for position, title in enumerate(
            [
                _t("Argumentación", "Argument", "Argumentação", "Argumentation"),
                _t("Marco legal", "Legal framework", "Quadro legal", "Cadre juridique"),
            ]
        ):
            criterion = RubricCriterion.objects.create(
                rubric=rubric, position=position, title=title
            )
            for points, level in enumerate(
                [
                    _t("Ausente", "Missing", "Ausente", "Absent"),
                    _t("Parcial", "Partial", "Parcial", "Partiel"),
                    _t("Completo", "Complete", "Completo", "Complet"),
                ]
            ):
                RubricLevel.objects.create(
                    criterion=criterion, position=points, title=level, points=Decimal(points)
                )
    return rubric


def _append_assessment_lesson(version: Any, module: Any, **fields: Any) -> Lesson:
    """An assessment lesson after the version's last lesson."""
    return Lesson.objects.create(
        version=version,
        module=module,
        position=version.lessons.count() + 1,
        kind=Lesson.Kind.ASSESSMENT,
        **fields,
    )


def seed(context: dict[str, Any]) -> None:
    course = context.get("course")
    if course is None or course.current_version is None:
        return
    version = course.current_version
    lesson = (
        Lesson.objects.filter(version=version, kind=Lesson.Kind.ASSESSMENT)
        .exclude(assessment__kind=Assessment.Kind.PRACTICAL)
        .order_by("position")
        .first()
    )
    if lesson is None:
        module = version.modules.order_by("position").first()
        if module is None:
            return
        lesson = _append_assessment_lesson(
            version,
            module,
            requires_pass=True,
            title=_t("Evaluación final", "Final quiz", "Questionário final", "Quiz final"),
        )
    rubric = _rubric(course)
    sections = []
    for slug, name, questions in (
        ("use-of-force", _t("Uso de la fuerza", "Use of force", "Uso da força", "Usage de la force"), FORCE),
        ("human-rights", _t("Derechos humanos", "Human rights", "Direitos humanos", "Droits humains"), RIGHTS),
    ):  # fmt: skip
        category, _ = QuestionCategory.objects.get_or_create(
            course=course, slug=slug, defaults={"name": name}
        )
        for kind, text, data, key in questions:
            Question.objects.get_or_create(
                category=category,
                kind=kind,
                text=text,
                defaults={
                    "course": course,
                    "data": data,
                    "key": key,
                    "points": Decimal(2) if kind == K.ESSAY else Decimal(1),
                    "rubric": rubric if kind == K.ESSAY else None,
                    "tags": [slug],
                },
            )
        sections.append(category)
    assessment, made = Assessment.objects.get_or_create(
        lesson=lesson,
        defaults={
            "kind": Assessment.Kind.QUIZ,
            "time_limit_minutes": 20,
            "max_attempts": 3,
            "passing_score_pct": Decimal(60),
            "review_shows": Assessment.ReviewShows.CORRECT,
            "instructions": _t(
                "Tiene 20 minutos. Sus respuestas se guardan solas.",
                "You have 20 minutes. Your answers save themselves.",
                "Você tem 20 minutos. Suas respostas são salvas automaticamente.",
                "Vous avez 20 minutes. Vos réponses sont enregistrées automatiquement.",
            ),
        },
    )
    if made:
        for position, category in enumerate(sections):
            AssessmentSection.objects.create(
                assessment=assessment,
                category=category,
                position=position,
                count=category.questions.count(),
            )
    context.update(assessment=assessment)
    _essay_waiting(context, assessment)
    context.update(practical=_practical(course, version))


CHECKLIST = [
    ("c1", _t("Se presenta e identifica ante los manifestantes",
              "Introduces and identifies themself to the protesters",
              "Apresenta-se e identifica-se aos manifestantes",
              "Se présente et s'identifie auprès des manifestants"), 2),
    ("c2", _t("Escucha a los organizadores sin interrumpir",
              "Listens to the organisers without interrupting",
              "Escuta os organizadores sem interromper",
              "Écoute les organisateurs sans les interrompre"), 2),
    ("c3", _t("Mantiene una distancia segura y una postura abierta",
              "Keeps a safe distance and an open stance",
              "Mantém uma distância segura e uma postura aberta",
              "Garde une distance de sécurité et une posture ouverte"), 1),
    ("c4", _t("Da instrucciones claras, una a la vez",
              "Gives clear instructions, one at a time",
              "Dá instruções claras, uma de cada vez",
              "Donne des consignes claires, une à la fois"), 1),
]  # fmt: skip


def _practical(course: Any, version: Any) -> Assessment | None:
    """A practical evaluation at the end of the course: a checklist the run's instructor marks
    for each officer on site (assessments:practical), released by the instructor. Optional for
    completion, since the virtual run has the same version and no one there to observe the
    officers; on site it is graded and its grade released like any other. Once only."""
    existing = Assessment.objects.filter(
        lesson__version=version, kind=Assessment.Kind.PRACTICAL
    ).first()
    if existing is not None:
        return existing
    module = version.modules.order_by("-position").first()
    if module is None:
        return None
    lesson = _append_assessment_lesson(
        version,
        module,
        is_required=False,
        title=_t(
            "Evaluación práctica: reducir la tensión en una protesta",
            "Practical evaluation: de-escalating a protest",
            "Avaliação prática: reduzir a tensão em um protesto",
            "Évaluation pratique : désamorcer une manifestation",
        ),
    )
    category, _ = QuestionCategory.objects.get_or_create(
        course=course,
        slug="practical",
        defaults={"name": _t("Práctica", "Practical", "Prática", "Pratique")},
    )
    Question.objects.get_or_create(
        category=category,
        kind=K.PRACTICAL,
        defaults={
            "course": course,
            "text": _t(
                "Ejercicio: una protesta pacífica bloquea una avenida.",
                "Exercise: a peaceful protest blocks an avenue.",
                "Exercício: um protesto pacífico bloqueia uma avenida.",
                "Exercice : une manifestation pacifique bloque une avenue.",
            ),
            "data": {
                "checklist": [
                    {"id": item, "text": text, "points": points} for item, text, points in CHECKLIST
                ]
            },
            "points": Decimal(sum(points for _item, _text, points in CHECKLIST)),
            "tags": ["practical"],
        },
    )
    assessment = Assessment.objects.create(
        lesson=lesson,
        kind=Assessment.Kind.PRACTICAL,
        max_attempts=1,
        passing_score_pct=Decimal(70),
        auto_release=False,
        review_shows=Assessment.ReviewShows.RESPONSES,
        instructions=_t(
            "Su instructor observa el ejercicio en el aula y marca cada paso cumplido.",
            "Your instructor watches the exercise on site and marks each step you carry out.",
            "O seu instrutor observa o exercício no local e marca cada passo cumprido.",
            "Votre instructeur observe l'exercice sur place et coche chaque étape accomplie.",
        ),
    )
    AssessmentSection.objects.create(assessment=assessment, category=category, position=0, count=1)
    return assessment


CADET = "cadete.rojas@demo.lms"


def _essay_waiting(context: dict[str, Any], assessment: Assessment) -> None:
    """A cadet of the on-site run (no sign-in: the account has no password) enrolled by the
    coordinator, who has taken and submitted the quiz: the objective answers are graded at once,
    the essay waits for the run's instructor. Once only."""
    from assessments import services
    from assessments.models import Attempt
    from courses import services as courses_services
    from courses.demo import cadet as demo_cadet

    onsite = (context.get("runs") or {}).get("onsite")
    coordinator = (context.get("people") or {}).get("coordinator@demo.lms")
    if onsite is None or coordinator is None:
        return
    academy = (context.get("institutions") or {}).get("ECSAN") or coordinator.institution
    cadet, _made = demo_cadet(CADET, "Camila Rojas", academy)
    if Attempt.objects.filter(assessment=assessment, user=cadet).exists():
        return
    enrollment = courses_services.enrol(user=cadet, run=onsite, actor=coordinator)
    attempt = services.start_attempt(assessment=assessment, enrollment=enrollment, actor=cadet)
    questions = {
        q.pk: q for q in Question.objects.filter(pk__in=[e["question"] for e in attempt.draw])
    }
    responses: dict[int, Any] = {}
    for pk, question in questions.items():
        if question.kind == K.ESSAY:
            responses[pk] = (
                "Me presentaría, escucharía a los organizadores y mantendría la distancia."
            )
        elif "correct" in question.key:
            responses[pk] = question.key["correct"]
    services.submit_attempt(attempt=attempt, actor=cadet, responses=responses)
