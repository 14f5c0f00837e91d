"""Uploaded files (MEDIA_URL), served only to the people allowed to read them.

Every stored file belongs to an app: a learner's uploaded answer, an accreditation dossier's
attachment, a lesson's video, a forum post's attachment, a certificate's PDF. Each app registers
the folder its files are stored under (their `upload_to`) with a check, `(user, name) -> bool`,
that finds the file's owner and asks the app's own permission rules; `serve` answers a file
only when the check of the longest registered folder holding it says yes, and 404 otherwise
(to a visitor without the right, a file does not exist; a folder no app registered is never
served). Nothing is served from MEDIA_ROOT by the web server directly: with
LMS_MEDIA_ACCEL_PREFIX set (behind nginx, deploy/nginx/lms.conf), the answer is an
X-Accel-Redirect to an internal location, so nginx sends the bytes (with ranges, for video);
otherwise Django streams the file, one byte range when asked.

A file of a kind a browser would run (HTML, SVG, anything not on the INLINE list) is always
sent as a download, with nosniff and a sandboxing Content-Security-Policy, so that an uploaded
page cannot run on the platform's origin.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)

Check = Callable[[Any, str], bool]

_CHECKS: dict[str, Check] = {}

# Shown in the browser (a PDF, a video and its captions, a picture that cannot hold a script);
# everything else is downloaded.
INLINE = {
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".vtt": "text/vtt",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def register(folder: str, check: Check) -> None:
    """Serve the files stored under `folder` (e.g. "accreditation/") to the users `check`
    allows. Called from an AppConfig.ready(); a later registration of a folder replaces it."""
    _CHECKS[folder.rstrip("/") + "/"] = check


def public(user: Any, name: str) -> bool:
    """The check of a folder anyone may read (a university's logo)."""
    return True


def nobody(user: Any, name: str) -> bool:
    """The check of a folder served by its app's own view only (certificate PDFs, reports)."""
    return False


def clean_name(path: str) -> str | None:
    """The storage name of a requested path, or None for one that leaves MEDIA_ROOT."""
    if not path or "\\" in path or "\x00" in path or path.startswith("/"):
        return None
    name = posixpath.normpath(path)
    if name in (".", "..") or name.startswith("../"):
        return None
    return name


def allowed(user: Any, name: str) -> bool:
    """Whether the longest registered folder holding `name` lets `user` read it."""
    folders = [folder for folder in _CHECKS if name.startswith(folder)]
    if not folders:
        return False
    return _CHECKS[max(folders, key=len)](user, name)


RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _stream(
    request: HttpRequest, name: str, inline: bool, filename: str, content_type: str
) -> HttpResponseBase:
    """The file streamed by Django; one byte range when asked (a video player resuming at the
    saved position, or seeking, asks for the part it plays: without ranges it could not)."""
    size = default_storage.size(name)
    wanted = RANGE.match(request.headers.get("Range", "").strip())
    if wanted is None or not any(wanted.groups()):
        response: HttpResponseBase = FileResponse(
            default_storage.open(name, "rb"),
            as_attachment=not inline,
            filename=filename,
            content_type=content_type,
        )
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = wanted.groups()
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    stream = default_storage.open(name, "rb")
    stream.seek(start)
    length = end - start + 1

    def chunks() -> Any:
        left = length
        try:
            while left > 0:
                block = stream.read(min(64 * 1024, left))
                if not block:
                    break
                left -= len(block)
                yield block
        finally:
            stream.close()

    partial = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
    partial["Content-Range"] = f"bytes {start}-{end}/{size}"
    partial["Content-Length"] = str(length)
    partial["Accept-Ranges"] = "bytes"
    disposition = "inline" if inline else "attachment"
    partial["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    return partial


def serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """The file at MEDIA_URL + `path`, to a user its app allows; 404 otherwise."""
    name = clean_name(path)
    if name is None or not allowed(request.user, name) or not default_storage.exists(name):
        raise Http404
    extension = posixpath.splitext(name)[1].lower()
    inline = extension in INLINE
    content_type = INLINE.get(extension) or "application/octet-stream"
    filename = posixpath.basename(name)
    accel = getattr(settings, "LMS_MEDIA_ACCEL_PREFIX", "")
    response: HttpResponseBase
    if accel:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(name)
        disposition = "inline" if inline else "attachment"
        response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    else:
        response = _stream(request, name, inline, filename, content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    if not inline:
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
