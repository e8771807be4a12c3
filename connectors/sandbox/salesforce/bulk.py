"""Bulk API 2.0 under `/services/data/vXX.X/jobs/`: query and queryAll jobs with CSV result
pages (`Sforce-Locator`, `Sforce-NumberOfRecords`), and update ingest jobs with their
successful, failed and unprocessed record results.

Jobs advance one state per poll (UploadComplete -> InProgress -> JobComplete) as real jobs take
a while. Query results come in no particular order (ORDER BY is not honoured) and their
columns in a job-specific order, as the real API allows; both shuffles are seeded.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import random
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from connectors.sandbox.api import Request, Response, WriteLog
from connectors.sandbox.salesforce import bulk_history, soql, writes
from connectors.sandbox.salesforce.errors import ApiError, method_not_allowed, not_found
from connectors.sandbox.salesforce.query import parse, run
from connectors.sandbox.salesforce.rest import json_body
from connectors.sandbox.salesforce.schema import FieldDef
from connectors.sandbox.salesforce.state import OrgState, Record
from connectors.sandbox.salesforce.values import ValueTypeError, format_datetime, from_csv

DEFAULT_MAX_RECORDS = 50_000
_DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
_LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_INGEST_OPERATIONS = frozenset({"insert", "update", "upsert", "delete", "hardDelete"})
_ACTIVE = frozenset({"Open", "UploadComplete", "InProgress"})
_CSV = "text/csv;charset=UTF-8"


@dataclass
class Job:
    """One Bulk 2.0 job."""

    id: str
    kind: str  # "query" | "ingest"
    operation: str
    object: str
    created: datetime
    version: str
    delimiter: str = "COMMA"
    line_ending: str = "LF"
    state: str = "Open"
    modstamp: datetime | None = None
    query: soql.SoqlQuery | None = None
    rows: list[Record] = field(default_factory=list)
    history: bulk_history.HistoryJobRows | None = None  # instead of `rows` (bulk_history.py)
    columns: list[int] = field(default_factory=list)  # order of the selected paths in the CSV
    data: str | None = None
    header: list[str] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    error_message: str | None = None


def _dialect(job: Job) -> dict[str, Any]:
    """csv module arguments for a job's delimiter and line ending."""
    return {
        "delimiter": _DELIMITERS[job.delimiter],
        "lineterminator": _LINE_ENDINGS[job.line_ending],
    }


def _row_count(job: Job) -> int:
    """How many result rows a query job has."""
    return len(job.history) if job.history is not None else len(job.rows)


def _write_csv(
    job: Job, header: list[str], rows: Iterable[Sequence[str]], *, quote_all: bool
) -> str:
    """CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(
        out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, **_dialect(job)
    )
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _quoted_csv(job: Job, header: list[str], columns: list[list[str]]) -> str:
    """CSV text with every cell quoted, as `csv.writer` with QUOTE_ALL writes it, built from
    columns with a few joins (a 50,000-row page in milliseconds)."""
    delimiter, line_ending = _DELIMITERS[job.delimiter], _LINE_ENDINGS[job.line_ending]
    escaped = [
        [cell.replace('"', '""') for cell in column] if '"' in "".join(column) else column
        for column in ([name, *column] for name, column in zip(header, columns, strict=True))
    ]
    between = f'"{delimiter}"'
    lines = map(between.join, zip(*escaped, strict=True))
    return '"' + f'"{line_ending}"'.join(lines) + '"' + line_ending


def _locator(offset: int) -> str:
    """A result locator, base64 of the next offset as real ones are."""
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str) -> int | None:
    """The offset a locator encodes, or None when it is not one of ours."""
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(text) if text.isdigit() else None


class BulkApi:
    """Bulk 2.0 jobs of one org."""

    def __init__(self, state: OrgState, *, write_log: WriteLog, seed: int) -> None:
        self.state = state
        self.write_log = write_log
        self.seed = seed
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def handle(self, request: Request, rest: str, *, version: str) -> Response:
        """Route `jobs/...`."""
        parts = [p for p in rest.split("/") if p]  # ["jobs", kind, id?, sub?]
        if len(parts) < 2 or parts[1] not in {"query", "ingest"}:
            raise not_found()
        kind = parts[1]
        if len(parts) == 2:
            if request.method == "POST":
                return self._create(request, kind, version=version)
            if request.method == "GET":
                return self._list(kind)
            raise method_not_allowed(request.method, "GET,POST")
        job = self.jobs.get(parts[2])
        if job is None or job.kind != kind:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(parts) == 3:
            return self._job_resource(request, job)
        sub = parts[3].lower() if len(parts) == 4 else ""
        if kind == "query" and sub == "results" and request.method == "GET":
            return self._results(request, job)
        if kind == "ingest" and sub == "batches" and request.method == "PUT":
            return self._upload(request, job)
        if (
            kind == "ingest"
            and request.method == "GET"
            and sub in {"successfulresults", "failedresults", "unprocessedrecords"}
        ):
            return self._ingest_results(job, sub)
        raise not_found()

    # -- jobs ------------------------------------------------------------------------------
    def _new_id(self) -> str:
        """A fresh job id (750…)."""
        while True:
            candidate = self.state.reserve_ids("750", 1)[0]
            if candidate not in self.jobs:
                return candidate

    def _create(self, request: Request, kind: str, *, version: str) -> Response:
        """`POST jobs/query` or `jobs/ingest`."""
        body = json_body(request)
        if not isinstance(body, Mapping):
            raise ApiError(400, "INVALIDJOB", "The request body must be a JSON object")
        delimiter = body.get("columnDelimiter", "COMMA")
        line_ending = body.get("lineEnding", "LF")
        if delimiter not in _DELIMITERS:
            raise ApiError(400, "INVALIDJOB", f"Invalid column delimiter: {delimiter}")
        if line_ending not in _LINE_ENDINGS:
            raise ApiError(400, "INVALIDJOB", f"Invalid line ending: {line_ending}")
        operation = body.get("operation")
        now = self.state.clock.next()
        if kind == "query":
            if operation not in {"query", "queryAll"}:
                raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}")
            text = body.get("query")
            if not isinstance(text, str) or not text.strip():
                raise ApiError(400, "INVALIDJOB", "A query is required for a query job")
            query = parse(self.state, text)
            if query.is_count:
                raise ApiError(400, "INVALIDJOB", "Aggregate queries are not supported")
            job = Job(
                id=self._new_id(),
                kind=kind,
                operation=operation,
                object=query.object_name,
                created=now,
                version=version,
                delimiter=delimiter,
                line_ending=line_ending,
                state="UploadComplete",
                query=query,
            )
            shuffle = random.Random(f"{self.seed}:{job.id}")
            include_deleted = operation == "queryAll"
            table = self.state.table(query.object_name)
            if bulk_history.answers(table, query):
                rng = np.random.default_rng(shuffle.getrandbits(64))
                with self.state.lock:
                    job.history = bulk_history.select_rows(
                        table,  # type: ignore[arg-type]
                        include_deleted=include_deleted,
                        rng=rng,
                    )
            else:
                job.rows = list(run(self.state, query, include_deleted=include_deleted)[1])
                shuffle.shuffle(job.rows)
            job.columns = list(range(len(query.fields)))
            shuffle.shuffle(job.columns)
        else:
            if operation not in _INGEST_OPERATIONS:
                raise ApiError(400, "INVALIDJOB", f"Invalid operation: {operation}")
            obj = body.get("object")
            if obj not in self.state.objects:
                raise ApiError(400, "INVALIDJOB", f"Unable to find object: {obj}")
            if operation != "update" or obj != writes.OBJECT:
                raise ApiError(
                    400,
                    "FEATURENOTENABLED",
                    f"The sandbox supports only update jobs on {writes.OBJECT}",
                )
            if body.get("contentType", "CSV") != "CSV":
                raise ApiError(400, "INVALIDJOB", "Only CSV content is supported")
            job = Job(
                id=self._new_id(),
                kind=kind,
                operation=operation,
                object=obj,
                created=now,
                version=version,
                delimiter=delimiter,
                line_ending=line_ending,
            )
        job.modstamp = now
        with self._lock:
            self.jobs[job.id] = job
        return Response.json(200, self._info(job, poll=False))

    def _info(self, job: Job, *, poll: bool) -> dict[str, Any]:
        """A job's JSON."""
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdById": self.state.api_user_id,
            "createdDate": format_datetime(job.created),
            "systemModstamp": format_datetime(job.modstamp or job.created),
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(job.version),
            "lineEnding": job.line_ending,
            "columnDelimiter": job.delimiter,
        }
        if job.kind == "ingest":
            info["contentUrl"] = f"services/data/v{job.version}/jobs/ingest/{job.id}/batches"
        if poll:
            done = job.state == "JobComplete"
            if job.kind == "query":
                info.update(
                    {
                        "jobType": "V2Query",
                        "numberRecordsProcessed": _row_count(job) if done else 0,
                        "retries": 0,
                        "totalProcessingTime": 120 if done else 0,
                        "isPkChunkingSupported": True,
                    }
                )
            else:
                info.update(
                    {
                        "jobType": "V2Ingest",
                        "numberRecordsProcessed": len(job.successes) + len(job.failures),
                        "numberRecordsFailed": len(job.failures),
                        "retries": 0,
                        "totalProcessingTime": 150 if done else 0,
                        "apiActiveProcessingTime": 100,
                        "apexProcessingTime": 0,
                    }
                )
            if job.error_message:
                info["errorMessage"] = job.error_message
        return info

    def _list(self, kind: str) -> Response:
        """`GET jobs/query` or `jobs/ingest`: every job of that kind."""
        records = [self._info(j, poll=False) for j in self.jobs.values() if j.kind == kind]
        return Response.json(200, {"done": True, "records": records, "nextRecordsUrl": None})

    def _job_resource(self, request: Request, job: Job) -> Response:
        """`GET` (poll, one state step), `PATCH` (close or abort), `DELETE` a job."""
        if request.method == "GET":
            with self.state.lock:
                self._advance(job)
            return Response.json(200, self._info(job, poll=True))
        if request.method == "PATCH":
            body = json_body(request)
            wanted = body.get("state") if isinstance(body, Mapping) else None
            with self.state.lock:
                if wanted == "Aborted" and job.state in _ACTIVE:
                    job.state = "Aborted"
                    if job.data is not None and not job.successes and not job.failures:
                        job.header, rows = self._parse_upload(job)
                        job.unprocessed = rows
                elif wanted == "UploadComplete" and job.kind == "ingest" and job.state == "Open":
                    job.state = "UploadComplete"
                else:
                    raise ApiError(
                        400,
                        "INVALIDJOBSTATE",
                        f"Invalid job state transition from {job.state} to {wanted}",
                    )
                job.modstamp = self.state.clock.next()
            return Response.json(200, self._info(job, poll=False))
        if request.method == "DELETE":
            if job.state in _ACTIVE:
                raise ApiError(400, "INVALIDJOBSTATE", "Job must be closed or aborted to delete")
            with self._lock:
                self.jobs.pop(job.id, None)
            return Response(204)
        raise method_not_allowed(request.method, "GET,PATCH,DELETE")

    def _advance(self, job: Job) -> None:
        """One processing step per poll; ingest records are written on the last step."""
        if job.state == "UploadComplete":
            job.state = "InProgress"
        elif job.state == "InProgress":
            if job.kind == "ingest":
                self._process(job)
            if job.state == "InProgress":
                job.state = "JobComplete"
        else:
            return
        job.modstamp = self.state.clock.next()

    # -- query results ---------------------------------------------------------------------
    def _results(self, request: Request, job: Job) -> Response:
        """`GET jobs/query/{id}/results?maxRecords=N&locator=L`: one CSV page."""
        if job.state != "JobComplete":
            raise ApiError(400, "INVALIDJOB", f"Job {job.id} is not complete (state {job.state})")
        raw_max = request.param("maxRecords")
        try:
            max_records = int(raw_max) if raw_max else DEFAULT_MAX_RECORDS
        except ValueError:
            max_records = 0
        if max_records < 1:
            raise ApiError(400, "INVALIDREQUEST", f"Invalid maxRecords: {raw_max}")
        locator = request.param("locator")
        start = 0
        if locator:
            offset = _offset(locator)
            if offset is None or offset > _row_count(job):
                raise ApiError(400, "INVALID_QUERY_LOCATOR", f"Invalid locator: {locator}")
            start = offset
        total = _row_count(job)
        stop = min(start + max_records, total)
        query = job.query
        assert query is not None
        header = soql.csv_header(query)
        with self.state.lock:
            if job.history is not None:
                columns = bulk_history.csv_columns(
                    job.history, query, start=start, stop=stop, lookup=self.state.lookup
                )
            else:
                columns = soql.csv_columns(query, job.rows[start:stop], lookup=self.state.lookup)
        order = job.columns
        text = _quoted_csv(job, [header[i] for i in order], [columns[i] for i in order])
        headers = {
            "Sforce-NumberOfRecords": str(stop - start),
            "Sforce-Locator": _locator(stop) if stop < total else "null",
        }
        return Response.text(200, text, _CSV, headers)

    # -- ingest ----------------------------------------------------------------------------
    def _upload(self, request: Request, job: Job) -> Response:
        """`PUT jobs/ingest/{id}/batches`: the job's CSV data (once), 201."""
        if job.state != "Open":
            raise ApiError(400, "INVALIDJOBSTATE", f"Job {job.id} is not Open (state {job.state})")
        if job.data is not None:
            raise ApiError(400, "INVALIDJOBSTATE", "Job data can be uploaded only once")
        if not request.headers.get("content-type", "").lower().startswith("text/csv"):
            raise ApiError(400, "INVALIDREQUEST", "Content-Type must be text/csv")
        try:
            job.data = request.body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiError(400, "INVALIDREQUEST", "The CSV data must be UTF-8") from None
        return Response(201)

    def _parse_upload(self, job: Job) -> tuple[list[str], list[list[str]]]:
        """The uploaded CSV's header and rows."""
        reader = csv.reader(io.StringIO(job.data or ""), delimiter=_DELIMITERS[job.delimiter])
        rows = [row for row in reader if row]
        return (rows[0], rows[1:]) if rows else ([], [])

    def _process(self, job: Job) -> None:
        """Write every uploaded record; a bad header fails the whole job."""
        header, rows = self._parse_upload(job)
        job.header = header
        obj = self.state.objects[job.object]
        fields: list[FieldDef | None] = []
        for name in header:
            fdef = obj.field(name.strip())
            if fdef is None:
                job.state = "Failed"
                job.error_message = f"InvalidBatch : Field name not found : {name}"
                return
            fields.append(fdef)
        id_column = next(
            (i for i, f in enumerate(fields) if f is not None and f.name == "Id"), None
        )
        if id_column is None:
            job.state = "Failed"
            job.error_message = "InvalidBatch : Field name not found : Id"
            return
        for row in rows:
            cells = row + [""] * (len(header) - len(row))
            outcome = self._record(cells, fields, id_column)
            if isinstance(outcome, writes.SaveError):
                job.failures.append([cells[id_column], outcome.as_bulk(), *cells])
            else:
                writes.apply(self.state, outcome, write_log=self.write_log)
                job.successes.append([outcome.record_id, "false", *cells])

    def _record(
        self, cells: list[str], fields: list[FieldDef | None], id_column: int
    ) -> writes.Update | writes.SaveError:
        """One CSV record checked as an update (empty cells leave a field as it is)."""
        record, problem = writes.find(self.state, cells[id_column])
        if problem is not None or record is None:
            return problem  # type: ignore[return-value]
        values: dict[FieldDef, Any] = {}
        for index, (fdef, text) in enumerate(zip(fields, cells, strict=False)):
            if index == id_column or fdef is None or text == "":
                continue
            try:
                values[fdef] = from_csv(fdef, text)
            except ValueTypeError:
                return writes.SaveError(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD",
                    f"{fdef.label}: value not of required type: {text}",
                    [fdef.name],
                )
        return writes.check(self.state, record, values)

    def _ingest_results(self, job: Job, sub: str) -> Response:
        """`successfulResults`, `failedResults`, `unprocessedrecords` as CSV."""
        header = job.header or self._parse_upload(job)[0]
        if sub == "successfulresults":
            text = _write_csv(
                job, ["sf__Id", "sf__Created", *header], job.successes, quote_all=True
            )
        elif sub == "failedresults":
            text = _write_csv(job, ["sf__Id", "sf__Error", *header], job.failures, quote_all=True)
        else:
            text = _write_csv(job, header, job.unprocessed, quote_all=False)
        return Response.text(200, text, _CSV)
