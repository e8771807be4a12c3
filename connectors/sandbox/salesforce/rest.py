"""REST resources under `/services/data/vXX.X/`: sobjects (describe, record GET and PATCH),
sObject Collections update, limits, and the version and resource lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.sandbox.api import Request, Response, WriteLog
from connectors.sandbox.salesforce import writes
from connectors.sandbox.salesforce.describe import describe, describe_global, summary
from connectors.sandbox.salesforce.errors import ApiError, method_not_allowed, not_found
from connectors.sandbox.salesforce.ids import looks_like_id, normalize_id
from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef
from connectors.sandbox.salesforce.state import OrgState
from connectors.sandbox.salesforce.values import ValueTypeError, from_json, json_value

MAX_COLLECTION = 200
DAILY_API_REQUESTS = 15_000
_ROLLED_BACK = writes.SaveError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)
VERSIONS = ("55.0", "56.0", "57.0", "58.0", "59.0", "60.0", "61.0", "62.0")


def json_body(request: Request) -> Any:
    """The request body as JSON, or the API's 400 JSON_PARSER_ERROR."""
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {error}") from None


def typed_values(
    obj: ObjectDef,
    body: Mapping[str, Any],
    *,
    skip: frozenset[str] = frozenset({"attributes", "id"}),
) -> dict[FieldDef, Any]:
    """A JSON record's fields, typed; unknown fields and mistyped values fail the request."""
    out: dict[FieldDef, Any] = {}
    for name, value in body.items():
        if name.lower() in skip:
            continue
        fdef = obj.field(name)
        if fdef is None:
            raise ApiError(
                400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}"
            )
        try:
            out[fdef] = from_json(fdef, value)
        except ValueTypeError as error:
            raise ApiError(
                400, "JSON_PARSER_ERROR", f"{error} or request may be missing a required field"
            ) from None
    return out


class RestApi:
    """The REST resources of one org."""

    def __init__(self, state: OrgState, *, write_log: WriteLog) -> None:
        self.state = state
        self.write_log = write_log

    # -- sobjects --------------------------------------------------------------------------
    def sobjects(self, request: Request, rest: str, *, version: str) -> Response:
        """`sobjects/`, `sobjects/{Object}`, `.../describe`, `.../{id}`."""
        parts = [p for p in rest.split("/") if p]
        if not parts:
            self._only(request, "GET,HEAD")
            return Response.json(200, describe_global(self.state.objects, version))
        obj = self._object(parts[0])
        if len(parts) == 1:
            if request.method == "POST":
                return self._create_record(request, obj)
            self._only(request, "GET,HEAD")
            return Response.json(200, {"objectDescribe": summary(obj, version), "recentItems": []})
        if len(parts) == 2 and parts[1] == "describe":
            self._only(request, "GET,HEAD")
            return Response.json(200, describe(obj, self.state.objects, version))
        if len(parts) != 2:
            raise not_found()
        if request.method in {"GET", "HEAD"}:
            return self._get_record(request, obj, parts[1], version=version)
        if request.method == "PATCH":
            return self._patch_record(request, obj, parts[1])
        if request.method == "DELETE":
            return self._delete_record(obj, parts[1])
        raise method_not_allowed(request.method, "GET,PATCH,DELETE,HEAD")

    def _only(self, request: Request, allowed: str) -> None:
        """Refuse methods other than `allowed`."""
        if request.method not in allowed.split(","):
            raise method_not_allowed(request.method, allowed)

    def _object(self, name: str) -> ObjectDef:
        """The object `name` (case-insensitive), else 404 NOT_FOUND."""
        obj = self.state.objects.get(name) or next(
            (o for n, o in self.state.objects.items() if n.lower() == name.lower()), None
        )
        if obj is None:
            raise not_found()
        return obj

    def _record_id(self, obj: ObjectDef, raw: str) -> str:
        """The 18-character id in a record path, or the API's error for a bad one."""
        if not looks_like_id(raw):
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {raw}",
            )
        record_id = normalize_id(raw, obj.key_prefix)
        if record_id is None:
            raise ApiError(
                400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw}", ["Id"]
            )
        return record_id

    def _get_record(self, request: Request, obj: ObjectDef, raw: str, *, version: str) -> Response:
        """`GET sobjects/{Object}/{id}[?fields=a,b]`."""
        record_id = self._record_id(obj, raw)
        with self.state.lock:
            record = self.state.get(obj.name, record_id)
            if record is None:
                raise not_found()
            if record.get("IsDeleted"):
                raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
            names = list(obj.fields)
            wanted = request.param("fields")
            if wanted:
                names = []
                for name in wanted.split(","):
                    fdef = obj.field(name.strip())
                    if fdef is None:
                        raise ApiError(
                            400,
                            "INVALID_FIELD",
                            f"No such column '{name.strip()}' on sobject of type {obj.name}",
                        )
                    names.append(fdef.name)
            body: dict[str, Any] = {
                "attributes": {
                    "type": obj.name,
                    "url": f"/services/data/v{version}/sobjects/{obj.name}/{record_id}",
                }
            }
            body.update({name: json_value(record.get(name)) for name in names})
        return Response.json(200, body)

    def _patch_record(self, request: Request, obj: ObjectDef, raw: str) -> Response:
        """`PATCH sobjects/Opportunity/{id}`: 204 with an empty body."""
        if obj.name != writes.OBJECT:
            raise ApiError(
                400,
                "INVALID_TYPE_FOR_OPERATION",
                f"The sandbox does not support updating {obj.name}",
            )
        record_id = self._record_id(obj, raw)
        body = json_body(request)
        if not isinstance(body, Mapping):
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of SObject from a non-object value",
            )
        values = typed_values(obj, body)
        with self.state.lock:
            record, problem = writes.find(self.state, record_id)
            if record is None:
                raise not_found()
            result = problem or writes.check(self.state, record, values)
            if isinstance(result, writes.SaveError):
                status = 404 if result.status_code == "ENTITY_IS_DELETED" else 400
                raise ApiError(status, result.status_code, result.message, result.fields)
            writes.apply(self.state, result, write_log=self.write_log)
        return Response(204)

    def _create_record(self, request: Request, obj: ObjectDef) -> Response:
        """`POST sobjects/Opportunity`: 201 with the new id."""
        if obj.name != writes.OBJECT:
            raise ApiError(
                400,
                "INVALID_TYPE_FOR_OPERATION",
                f"The sandbox does not support creating {obj.name}",
            )
        body = json_body(request)
        if not isinstance(body, Mapping):
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of SObject from a non-object value",
            )
        result = writes.create(self.state, typed_values(obj, body), write_log=self.write_log)
        if isinstance(result, writes.SaveError):
            raise ApiError(400, result.status_code, result.message, result.fields)
        return Response.json(201, {"id": result, "success": True, "errors": []})

    def _delete_record(self, obj: ObjectDef, raw: str) -> Response:
        """`DELETE sobjects/Opportunity/{id}`: to the recycle bin (IsDeleted true), 204."""
        if obj.name != writes.OBJECT:
            raise ApiError(
                400,
                "INVALID_TYPE_FOR_OPERATION",
                f"The sandbox does not support deleting {obj.name}",
            )
        record_id = self._record_id(obj, raw)
        problem = writes.delete(self.state, record_id, write_log=self.write_log)
        if problem is not None:
            if problem.status_code == "INVALID_CROSS_REFERENCE_KEY":
                raise not_found()
            status = 404 if problem.status_code == "ENTITY_IS_DELETED" else 400
            raise ApiError(status, problem.status_code, problem.message, problem.fields)
        return Response(204)

    # -- sObject Collections -----------------------------------------------------------------
    def collections(self, request: Request) -> Response:
        """`PATCH composite/sobjects`: up to 200 updates, SaveResults in input order."""
        if request.method != "PATCH":
            raise method_not_allowed(request.method, "PATCH")
        body = json_body(request)
        records = body.get("records") if isinstance(body, Mapping) else None
        if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
            raise ApiError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize the request: records must be a list of objects",
            )
        if len(records) > MAX_COLLECTION:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        all_or_none = body.get("allOrNone", False)
        if not isinstance(all_or_none, bool):
            raise ApiError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
        obj = self.state.objects[writes.OBJECT]
        parsed = []
        for record in records:
            attributes = record.get("attributes")
            kind = attributes.get("type") if isinstance(attributes, Mapping) else None
            if kind is None:
                raise ApiError(
                    400,
                    "INVALID_INPUT",
                    "When using sObject Collections, the type attribute must be specified",
                )
            if kind != obj.name:
                raise ApiError(400, "INVALID_TYPE", f"sObject type '{kind}' is not supported.")
            raw_id = next((v for k, v in record.items() if k.lower() == "id"), None)
            parsed.append((raw_id, typed_values(obj, record)))
        with self.state.lock:
            outcomes: list[writes.Update | writes.SaveError] = []
            for raw_id, values in parsed:
                if raw_id is None:
                    outcomes.append(
                        writes.SaveError(
                            "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]
                        )
                    )
                    continue
                record, problem = writes.find(self.state, raw_id)
                outcomes.append(problem or writes.check(self.state, record, values))  # type: ignore[arg-type]
            failed = any(isinstance(o, writes.SaveError) for o in outcomes)
            results = []
            for outcome in outcomes:
                if isinstance(outcome, writes.SaveError):
                    results.append({"success": False, "errors": [outcome.as_json()]})
                elif all_or_none and failed:
                    results.append(
                        {
                            "id": outcome.record_id,
                            "success": False,
                            "errors": [_ROLLED_BACK.as_json()],
                        }
                    )
                else:
                    writes.apply(self.state, outcome, write_log=self.write_log)
                    results.append({"id": outcome.record_id, "success": True, "errors": []})
        return Response.json(200, results)

    # -- limits and lists ------------------------------------------------------------------
    @staticmethod
    def limits(used: int) -> Response:
        """`GET limits/`: DailyApiRequests and a few other org limits."""
        remaining = max(0, DAILY_API_REQUESTS - used)
        return Response.json(
            200,
            {
                "DailyApiRequests": {"Max": DAILY_API_REQUESTS, "Remaining": remaining},
                "DailyBulkV2QueryJobs": {"Max": 10_000, "Remaining": 10_000},
                "DailyBulkV2QueryFileStorageMB": {"Max": 976_562, "Remaining": 976_562},
                "DailyBulkApiBatches": {"Max": 15_000, "Remaining": 15_000},
                "DataStorageMB": {"Max": 1024, "Remaining": 1000},
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            },
        )

    @staticmethod
    def versions() -> Response:
        """`GET /services/data/`: the API versions served."""
        return Response.json(
            200, [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS]
        )

    @staticmethod
    def resources(version: str) -> Response:
        """`GET /services/data/vXX.X/`: the resources of a version."""
        base = f"/services/data/v{version}"
        names = ("sobjects", "query", "queryAll", "composite", "limits", "jobs")
        return Response.json(200, {name: f"{base}/{name}" for name in names})
