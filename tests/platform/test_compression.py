"""Pages are gzipped for browsers that ask (lms.compression): the same page once unpacked,
Vary on Accept-Encoding, a length that varies from one answer to the next (BREACH), short and
streamed answers as Django's middleware handles them."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory

from lms.compression import GZipMiddleware, compress

pytestmark = pytest.mark.django_db

PAGE = ("<p>Curso de derechos humanos en la función policial</p>\n" * 200).encode()


def test_a_browser_that_asks_gets_the_page_gzipped(client: Client, learner: Any) -> None:
    client.force_login(learner)
    plain = client.get("/courses/")
    packed = client.get("/courses/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content) / 2
    assert "Accept-Encoding" in packed["Vary"]
    assert "Accept-Encoding" in plain["Vary"]
    html = gzip.decompress(packed.content).decode()
    assert html.startswith("<!DOCTYPE html>")
    assert "</html>" in html


def test_the_compressed_length_varies_and_unpacks_to_the_page() -> None:
    answers = [compress(PAGE, max_random_bytes=100) for _ in range(30)]
    assert all(gzip.decompress(answer) == PAGE for answer in answers)
    assert len({len(answer) for answer in answers}) > 5
    assert all(answer[3] & gzip.FNAME for answer in answers)
    assert max(len(answer) for answer in answers) < len(PAGE) / 10


def _through(response: Any, accept: str = "gzip") -> Any:
    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING=accept)
    return GZipMiddleware(lambda _request: response)(request)


def test_short_and_already_encoded_answers_go_as_they_are() -> None:
    short = _through(HttpResponse(b"x" * 150))
    assert short.content == b"x" * 150
    assert "Content-Encoding" not in short
    encoded = HttpResponse(PAGE)
    encoded["Content-Encoding"] = "br"
    assert _through(encoded).content == PAGE


def test_a_client_that_does_not_ask_gets_the_page_plain_and_etags_turn_weak() -> None:
    plain = _through(HttpResponse(PAGE), accept="identity")
    assert plain.content == PAGE
    assert plain["Vary"] == "Accept-Encoding"
    tagged = HttpResponse(PAGE)
    tagged["ETag"] = '"v1"'
    packed = _through(tagged)
    assert packed["ETag"] == 'W/"v1"'
    assert gzip.decompress(packed.content) == PAGE


def test_a_streamed_answer_is_compressed_as_a_stream() -> None:
    streamed = _through(StreamingHttpResponse(iter([PAGE[:5000], PAGE[5000:]])))
    assert streamed["Content-Encoding"] == "gzip"
    assert "Content-Length" not in streamed
    assert gzip.decompress(b"".join(streamed.streaming_content)) == PAGE


def test_pages_are_packed_at_the_cheaper_level() -> None:
    from lms.compression import LEVEL

    packed = _through(HttpResponse(PAGE)).content
    name_end = packed.index(b"\x00", 10)
    assert packed[name_end + 1 :] == gzip.compress(PAGE, compresslevel=LEVEL, mtime=0)[10:]
    assert LEVEL < 6


@pytest.mark.parametrize(
    ("before", "body", "after"),
    [
        (
            "<html><head><title>Catálogo</title></head><body>",
            "<p>Cursos ñ €</p>" * 300,
            "</body></html>",
        ),
        ("<header>x</header>", "<main>" + "a" * 40000 + "</main>", ""),
        ("", "<main>corps</main>", "<footer>Réseau</footer>" * 50),
    ],
)
def test_a_page_compressed_in_parts_unpacks_to_the_whole_page(
    before: str, body: str, after: str
) -> None:
    from lms.compression import compress_parts, shared_part

    page = (before + body + after).encode()
    answers = [
        compress_parts(
            before.encode(),
            shared_part(body),
            shared_part(after, last=True),
            max_random_bytes=100,
        )
        for _ in range(20)
    ]
    assert all(gzip.decompress(answer) == page for answer in answers)
    assert len({len(answer) for answer in answers}) > 5  # the same defence against BREACH
    assert all(answer[3] & gzip.FNAME for answer in answers)


def test_the_catalogue_compresses_its_shared_body_once(client: Client, learner: Any) -> None:
    """The catalogue's body is the same for every visitor of a language and address: its
    compressed form is kept, and each answer still unpacks to the page as sent uncompressed."""
    from lms import compression

    compression._shared.clear()
    client.force_login(learner)
    plain = client.get("/courses/").content
    first = client.get("/courses/", HTTP_ACCEPT_ENCODING="gzip")
    assert len(compression._shared) == 2  # the body and the footer
    [((body, _last), (data, _deflated))] = [
        (key, entry) for key, entry in compression._shared.items() if not key[1]
    ]
    assert data == body.encode()
    assert data in plain
    second = client.get("/courses/", HTTP_ACCEPT_ENCODING="gzip")
    assert len(compression._shared) == 2  # the same parts, not compressed again
    for answer in (first, second):
        assert answer["Content-Encoding"] == "gzip"
        unpacked = gzip.decompress(answer.content)
        # The pages differ only by their CSRF token's mask.
        assert len(unpacked) == len(plain)
        assert data in unpacked
        assert unpacked.startswith(plain[: plain.index(b'name="csrfmiddlewaretoken"')])


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 4096, 16385, 70000])
def test_answers_of_any_size_unpack_with_a_window_fitted_to_them(size: int) -> None:
    """The compressor's window is sized to the answer (lms.compression._deflate); every size,
    at and around the window boundaries, unpacks to itself."""
    import random

    rng = random.Random(size)
    data = bytes(rng.choice(b"<p>Derechos humanos ") for _ in range(size))
    assert gzip.decompress(compress(data, max_random_bytes=10)) == data
