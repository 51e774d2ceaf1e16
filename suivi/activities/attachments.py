"""Files attached to actions: stored through Django's storage API, checked on the way in, read
only by who may see the action.

- **Storage**: the ``attachments`` entry of ``settings.STORAGES`` (the local file system under
  the var folder by default; any backend of Django's storage API, e.g. django-storages' S3 one,
  when an operator configures it). The stored name is made up here (``attachments/2025/03/<random>``),
  so nothing the user typed ever becomes a path.
- **Names** are sanitised: the last component of any path, no control or format characters, no
  leading dots, at most 150 characters (the extension kept).
- **Size**: at most ``settings.SUIVI_ATTACHMENT_MAX_BYTES``; the pages and the API refuse a
  larger request from its Content-Length before reading it, and this checks the file again.
- **Content type** is sniffed from the first bytes (a small table of signatures), never taken
  from the browser. Files are served as downloads with ``nosniff``; a type a browser could run
  (HTML, SVG, scripts…) is served as ``application/octet-stream``.
- **Who**: whoever may see an action (private ones: their creator, follower, managers) reads
  and adds its files; the uploader, the action's follower and managers delete one.
"""

import logging
import os
import unicodedata
import uuid
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import storages
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from suivi.core import audit
from suivi.core.errors import InvalidInput, PermissionDenied

from .models import Action, Attachment
from .queries import access_action

logger = logging.getLogger(__name__)

MAX_NAME = 150
SNIFF_BYTES = 512

# Types a browser shows inertly; any other is downloaded as application/octet-stream.
INERT_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "application/zip",
    "application/x-ole-storage",
    "application/gzip",
}

# (offset, signature, type): the first bytes of common files.
_SIGNATURES = [
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"PK\x03\x04", "application/zip"),  # also .docx, .xlsx, .odt
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc, .xls, .msg
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"BEGIN:VCALENDAR", "text/calendar"),
    (0, b"BEGIN:VCARD", "text/vcard"),
]
_MARKUP = (b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml", b"<body", b"<iframe", b"<head")


def storage():
    return storages["attachments"]


def max_bytes() -> int:
    return int(getattr(settings, "SUIVI_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024))


def too_large_message(limit: int | None = None) -> str:
    limit = limit or max_bytes()
    return _("A file can be at most %(size)s MB: this one is larger. Nothing was attached.") % {
        "size": f"{limit / 1024 / 1024:g}"
    }


def sniff(head: bytes) -> str:
    """What the first bytes of a file say it is."""
    if head[8:12] == b"WEBP" and head[:4] == b"RIFF":
        return "image/webp"
    for offset, signature, kind in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return kind
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(text.startswith(tag) for tag in _MARKUP) or b"<script" in text or b"<html" in text:
        return "text/html"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as e:
            if e.start < len(head) - 3:  # a character cut at the end of the sample is still text
                return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"


def served_type(content_type: str) -> str:
    """The type a download is served with: the sniffed one when a browser shows it inertly."""
    return content_type if content_type in INERT_TYPES else "application/octet-stream"


def clean_name(name: str) -> str:
    """A file name safe to show and to offer at download: the last part of any path, without
    control, format or separator characters, no leading dots, at most 150 characters."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if unicodedata.category(c) in ("Zl", "Zp") else c
        for c in name
        if not unicodedata.category(c).startswith("C")
    )
    name = " ".join(name.split()).lstrip(".").strip()
    for bad in '<>:"|?*':
        name = name.replace(bad, "_")
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        ext = ext[:20]
        name = stem[: MAX_NAME - len(ext)] + ext
    return name or _("file")


def may_delete(user, attachment: Attachment) -> bool:
    action = attachment.action
    return bool(user.is_manager or user.pk in (attachment.uploaded_by_id, action.followed_by_id))


def access_attachment(user, action_id, attachment_id) -> Attachment:
    """The attachment ``attachment_id`` of the action ``action_id``, if ``user`` may see that
    action (404 otherwise, private actions included)."""
    action = access_action(user, action_id)
    try:
        return action.attachments.select_related("action").get(pk=int(attachment_id))
    except (Attachment.DoesNotExist, ValueError, TypeError, OverflowError) as e:
        raise Http404 from e


def attachments_of(user, action: Action):
    """The files of ``action`` (which ``user`` may see: read it through ``access_action``)."""
    return action.attachments.select_related("uploaded_by").order_by("-created_at", "-id")


def _check_writable(acting_user, action: Action) -> None:
    """Whoever sees an action may attach files to it; a private one is seen only by its creator,
    its follower and managers."""
    if not (acting_user and acting_user.is_authenticated):
        raise PermissionDenied(_("Sign in to attach files."))
    if (
        action.private
        and acting_user.pk not in (action.followed_by_id, action.created_by_id)
        and not acting_user.is_manager
    ):
        raise PermissionDenied(_("This action is private."))


def store_unreachable_message() -> str:
    return _("The file store could not be reached: nothing was attached. Try again in a moment.")


def remove_files(names: list[str]) -> None:
    """Delete stored files now (those of rows that were rolled back, or deleted). A store that
    fails here leaves a file no row points to: logged, never an error for the user, whose
    deletion is already done."""
    for name in names:
        try:
            storage().delete(name)
        except FileNotFoundError:
            pass  # already gone: nothing to do
        except Exception:  # an object store's own errors (botocore) are not OSErrors
            logger.exception("Could not delete the stored file %s: it is left orphaned in the store", name)


def _remove_after_commit(names: list[str]) -> None:
    transaction.on_commit(lambda: remove_files(names))


@transaction.atomic
def add_attachment(
    *, acting_user, action: Action, name: str, content: bytes | IO[bytes] | File, size: int | None = None
) -> Attachment:
    """Attach a file to ``action``: its name sanitised, its size checked against the limit, its
    type sniffed from its first bytes, its bytes stored under a name made up here."""
    _check_writable(acting_user, action)
    if isinstance(content, bytes):
        content = ContentFile(content)
    elif not isinstance(content, File):
        content = File(content)
    size = content.size if size is None else size
    if size is None or size > max_bytes():
        raise InvalidInput({"file": too_large_message()})
    if size == 0:
        raise InvalidInput({"file": _("This file is empty: nothing was attached.")})
    content.seek(0)
    head = content.read(SNIFF_BYTES)
    content.seek(0)
    now = timezone.now()
    try:
        stored = storage().save(f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}", content)
    except Exception as e:  # a full disk, an object store that does not answer or refuses
        logger.exception("Could not store an attachment of action %s", action.pk)
        raise InvalidInput({"file": store_unreachable_message()}) from e
    try:
        with transaction.atomic():
            attachment = Attachment.objects.create(
                action=action,
                file=stored,
                name=clean_name(name),
                size=size,
                content_type=sniff(head),
                uploaded_by=acting_user,
            )
            audit.record(acting_user, "attach", action, {"file": ["", attachment.name]})
    except BaseException:
        remove_files([stored])  # the row is not there: neither is the file
        raise
    return attachment


@transaction.atomic
def delete_attachment(*, acting_user, attachment: Attachment) -> None:
    """Delete one attachment (its uploader, the action's follower or a manager); the file goes
    once the deletion is committed."""
    if not may_delete(acting_user, attachment):
        raise PermissionDenied(_("Only who attached this file, the action's follower or a manager may delete it."))
    audit.record(acting_user, "detach", attachment.action, {"file": [attachment.name, ""]})
    _remove_after_commit([attachment.file])
    attachment.delete()


@transaction.atomic
def delete_action(*, acting_user, action: Action) -> None:
    """Delete an action with its attachments (rows and files) and its links. Its follower, its
    creator or a manager."""
    action = Action.objects.select_for_update().get(pk=action.pk)
    if not (acting_user.is_manager or acting_user.pk in (action.followed_by_id, action.created_by_id)):
        raise PermissionDenied(_("Only the action's follower, its creator or a manager may delete it."))
    _remove_after_commit(list(action.attachments.values_list("file", flat=True)))
    audit.record(acting_user, "delete", action)
    action.delete()


def open_file(attachment: Attachment):
    """The stored bytes of ``attachment``, as an open file."""
    return storage().open(attachment.file, "rb")


def download(attachment: Attachment) -> HttpResponse:
    """The answer of the pages and the API to a permitted download (read ``attachment`` through
    ``access_attachment``): always a download, never shown inline nor sniffed into something
    a browser would run."""
    try:
        handle = open_file(attachment)
    except FileNotFoundError as e:
        raise Http404(_("This file is missing from the storage.")) from e
    except Exception:  # the store does not answer: say so, not a server error
        logger.exception("Could not read the stored file %s", attachment.file)
        return HttpResponse(
            _("The file store could not be reached. Try again in a moment."),
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type=served_type(attachment.content_type)
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
