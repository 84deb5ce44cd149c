"""Bulk import of a legacy register from CSV (docs/csv-layout.md), from the admin desk.

The file is what ``armsledger import-csv`` takes and goes through the same
``nodes.migration.import_csv``: uploaded to the node's home, imported in a worker thread
(``jobs``; a second import while one runs is refused), then the writer settles (seals a
checkpoint, projects the views) through ``context.submit``. The page polls the job (htmx)
(rows done of the file's rows, after each batch) and ends with the counts and every refused row:
line, column and reason. The records name the officer who ran the import.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from domain.errors import DomainError, InvalidField
from domain.roles import Right
from nodes.migration import import_csv
from nodes.service.desks.access import Desk, at_desk, context_of, desk_page
from nodes.service.desks.jobs import Job, jobs_of
from nodes.service.desks.rendering import field_error, status_for

router = APIRouter(prefix="/admin/import", include_in_schema=False)
IMPORT_JOB = "import-csv"
ERRORS_SHOWN = 500


@router.get("", response_class=HTMLResponse)
async def import_page(request: Request, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    """The upload form and the state of the last import (htmx: the state only, polled while it runs)."""
    job = jobs_of(request).get(IMPORT_JOB)
    template = "_import.html" if request.headers.get("hx-request") else "import.html"
    return desk_page(request, desk, template, job=job, errors_shown=ERRORS_SHOWN)


@router.post("", response_class=HTMLResponse)
async def start_import(request: Request, desk: Desk = Depends(at_desk(Right.ADMIN))) -> Response:
    """Save the uploaded file and import it in a worker thread; refused while an import runs."""
    context = context_of(request)
    jobs = jobs_of(request)
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidField("choose the CSV file to import", field="file")
        jobs.check_idle(IMPORT_JOB, "file")
        path = _saved(upload, context.node.settings.home)

        def work(job: Job) -> Any:
            job.progress = {"file": upload.filename, "bytes": path.stat().st_size, "rows": 0, "total": None}

            def counted(done: int, total: int | None) -> None:
                job.progress = {**job.progress, "rows": done, "total": total}

            try:
                # The records name the officer who imported them, as every record made at a desk does.
                with context.node.registry.acting_as(desk.officer.user_id):
                    report = import_csv(context.node, path, workers=0, progress=counted)
            finally:
                path.unlink(missing_ok=True)
            context.submit(desk.officer, lambda registry: None)   # the writer settles: checkpoint, views
            return report

        try:
            jobs.start(IMPORT_JOB, work, field_name="file")
        except DomainError:
            path.unlink(missing_ok=True)     # another import started meanwhile
            raise
    except DomainError as exc:
        return desk_page(request, desk, "import.html", job=jobs.get(IMPORT_JOB), errors_shown=ERRORS_SHOWN,
                         errors=[field_error(exc)], status_code=status_for(exc))
    return RedirectResponse("/admin/import", status.HTTP_303_SEE_OTHER)


def _saved(upload: UploadFile, home: Path) -> Path:
    """The upload copied to a new file in the node's home (the import reads a path)."""
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=home, prefix="import-", suffix=".csv", delete=False) as out:
        shutil.copyfileobj(upload.file, out)
    return Path(out.name)
