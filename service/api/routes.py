"""Every API route, declared once in ``ROUTES``.

The declaration is the single source for three things: the route added to the app (with its
``Access``), the handler (parse the JSON body into the input dataclass, call one domain
function, answer with the view dataclass as JSON), and the OpenAPI operation. A route
cannot exist without its documentation, nor the other way round.

Authentication is the browser session (the same cookie as the pages); every request that
changes something must carry ``X-CSRF-Token`` and come from the site's own origin."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from service.api import calls, plan_reports
from service.api import visits_access as va
from service.calls.mine import ParentCall, calls_for_parent
from service.centre import contact, families, homes, onboarding, people, referrals, search
from service.errors import Invalid, NotFound
from service.http.access import (
    STAFF_ROLES,
    Access,
    Actor,
    add_route,
    current_actor,
    current_family,
    family_in_path,
    family_of_item,
    path_uuid,
    signed_in,
)
from service.letterbox import claims, conversation, drafts, queue
from service.notify import CONTACT_BOOK
from service.schema import parse, to_json
from service.schema import text as text_limits
from service.services import Services
from storage.models import Role

PREFIX = "/api/v1"

Call = Callable[[Services, Actor, web.Request, Any], Awaitable[Any]]

ADMIN = signed_in({Role.ADMIN})
ADMIN_FAMILY = signed_in({Role.ADMIN}, family=family_in_path("family_id"))
PARENT = signed_in({Role.PARENT})
PARENT_FAMILY = signed_in({Role.PARENT}, family=family_in_path("family_id"))
PARENT_ITEM = signed_in({Role.PARENT}, family=family_of_item("item_id"))


@dataclass(frozen=True)
class DraftInput:
    """The letter a parent is writing; the letter limit (LETTERBOX_MAX_TEXT_CHARS) is checked
    and named when it is saved."""

    text: str = field(metadata=text_limits(0, 1_000_000, "The letter's words so far"))
    replaces_item_id: str | None = field(
        default=None, metadata=text_limits(36, 36, "The returned item this letter replaces, if any")
    )


@dataclass(frozen=True)
class DraftView:
    family_id: uuid.UUID
    text: str
    replaces_item_id: uuid.UUID | None
    saved_at: datetime
    may_send: bool
    why_not: str | None


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # below PREFIX
    operation_id: str
    summary: str
    tag: str
    access: Access
    call: Call
    body: type[Any] | None = None
    # A view dataclass; ``None`` answers 204 No Content.
    response: type[Any] | None = None
    many: bool = False
    status: int = 200
    # A dataclass describing the query parameters (for the document; the call parses them).
    query: type[Any] | None = None
    # A file answer (e.g. ``application/pdf``): the call returns the ``web.Response``.
    media_type: str | None = None

    @property
    def full_path(self) -> str:
        return PREFIX + self.path


async def _body(request: web.Request, cls: type[Any]) -> Any:
    if request.content_type != "application/json":
        raise Invalid("Send the body as JSON (Content-Type: application/json).", field="body")
    try:
        data = await request.json()
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        raise Invalid("The body is not valid JSON.", field="body") from None
    return parse(cls, data)


def _handler(route: ApiRoute) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await _body(request, route.body) if route.body is not None else None
        result = await route.call(Services.of(request.app), current_actor(request), request, body)
        if route.media_type is not None:
            if not isinstance(result, web.StreamResponse):
                raise TypeError(f"{route.operation_id} answers a file: return the response")
            return result
        if route.response is None:
            return web.Response(status=204)
        return web.json_response(to_json(result), status=route.status)

    handle.__name__ = route.operation_id
    return handle


# --- the calls: one domain function each --------------------------------------------------


async def _list_staff(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await people.list_staff(s, a)


async def _create_staff(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await people.create_staff(s, a, b)


async def _disable_staff(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await people.disable_staff(s, a, path_uuid(r, "user_id"))


async def _list_referrals(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await referrals.list_referrals(s, a)


async def _record_referral(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await referrals.record_referral(s, a, b)


async def _get_referral(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await referrals.get_referral(s, a, path_uuid(r, "referral_id"))


async def _accept_referral(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    accepted = await onboarding.accept(s, a, path_uuid(r, "referral_id"))
    return await families.get_family(s, a, accepted.family_id)


async def _decline_referral(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await referrals.decline_referral(s, a, path_uuid(r, "referral_id"))


async def _list_families(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.list_families(s, a)


async def _get_family(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.get_family(s, a, current_family(r))


async def _update_family(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.update_family(s, a, current_family(r), b)


async def _add_child(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.add_child(s, a, current_family(r), b)


async def _update_child(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.update_child(s, a, current_family(r), path_uuid(r, "child_id"), b)


async def _remove_child(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    await families.remove_child(s, a, current_family(r), path_uuid(r, "child_id"))


async def _add_term(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.add_sensitive_term(s, a, current_family(r), b)


async def _remove_term(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    await families.remove_sensitive_term(s, a, current_family(r), path_uuid(r, "term_id"))


async def _invite_parent(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.invite_parent(s, a, current_family(r), b)


async def _resend_invite(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.resend_parent_invite(s, a, current_family(r), path_uuid(r, "sender_id"))


async def _sender_approval(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.set_sender_approved(s, a, current_family(r), path_uuid(r, "sender_id"), b)


async def _grant_referrer(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await families.grant_referrer_access(s, a, current_family(r), b)


async def _revoke_referrer(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    await families.revoke_referrer_access(s, a, current_family(r), path_uuid(r, "access_id"))


async def _dashboard(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await homes.admin_dashboard(s, a)


async def _conversation(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await conversation.family_conversation(s, a, current_family(r))


async def _item_history(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await conversation.sent_item(s, a, current_family(r), path_uuid(r, "item_id"))


async def _reply(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await conversation.reply(s, a, current_family(r), path_uuid(r, "item_id"))


def _draft_view(draft: drafts.Draft | None) -> DraftView:
    if draft is None:
        raise NotFound("There is no letter being written for this family.")
    return DraftView(
        draft.family_id,
        draft.text,
        draft.replaces_item_id,
        draft.saved_at,
        draft.may_send,
        draft.why_not,
    )


async def _get_draft(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return _draft_view(await drafts.load(s, a, current_family(r)))


async def _save_draft(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    try:
        replaces = uuid.UUID(b.replaces_item_id) if b.replaces_item_id else None
    except ValueError:
        raise Invalid("That is not an item id.", field="replaces_item_id") from None
    return _draft_view(await drafts.save(s, a, current_family(r), b.text, replaces))


async def _discard_draft(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    await drafts.discard(s, a, current_family(r))


async def _my_calls(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await calls_for_parent(s, a)


async def _centre_contact(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await contact.centre_contact(s, a)


async def _set_centre_contact(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    saved = await contact.set_centre_contact(s, a, b)
    await r.app[CONTACT_BOOK].refresh(s.sessionmaker)
    return saved


async def _queue(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await queue.moderation_queue(s, a, queue.QueueFilters.from_query(r.query))


async def _claim(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await claims.open_for_review(s, a, path_uuid(r, "item_id"))


async def _take_over(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await claims.take_over(s, a, path_uuid(r, "item_id"))


async def _search_families(s: Services, a: Actor, r: web.Request, b: Any) -> Any:
    return await search.find_families(
        s, a, parse(search.FamilySearchInput, {"q": r.query.get("q", "")})
    )


F = "/families/{family_id}"
STAFF = signed_in(STAFF_ROLES)
STAFF_ITEM = signed_in(STAFF_ROLES, family=family_of_item())
ITEM = "/moderation/items/{item_id}"

ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("GET", "/dashboard", "getDashboard", "Counts for the admin dashboard", "centre", ADMIN, _dashboard, response=homes.AdminDashboard),
    ApiRoute("GET", "/staff", "listStaff", "List the centre's admins, staff, supervisors and translators", "staff", ADMIN, _list_staff, response=people.PersonView, many=True),
    ApiRoute("POST", "/staff", "createStaff", "Create an admin, staff member or supervisor and e-mail their invite", "staff", ADMIN, _create_staff, body=people.StaffInput, response=people.PersonView, status=201),
    ApiRoute("POST", "/staff/{user_id}/disable", "disableStaff", "Disable an account and end its sessions", "staff", ADMIN, _disable_staff, response=people.PersonView),
    ApiRoute("GET", "/referrals", "listReferrals", "List referrals, waiting ones first", "referrals", ADMIN, _list_referrals, response=referrals.ReferralView, many=True),
    ApiRoute("POST", "/referrals", "recordReferral", "Record a referral as received", "referrals", ADMIN, _record_referral, body=referrals.ReferralInput, response=referrals.ReferralView, status=201),
    ApiRoute("GET", "/referrals/{referral_id}", "getReferral", "Read one referral, known risks included", "referrals", ADMIN, _get_referral, response=referrals.ReferralView),
    ApiRoute("POST", "/referrals/{referral_id}/accept", "acceptReferral", "Accept a referral: creates the family, its key and its children", "referrals", ADMIN, _accept_referral, response=families.FamilyDetail, status=201),
    ApiRoute("POST", "/referrals/{referral_id}/decline", "declineReferral", "Decline a referral", "referrals", ADMIN, _decline_referral, response=referrals.ReferralView),
    ApiRoute("GET", "/moderation/queue", "getModerationQueue", "Items waiting for review, oldest first: whose, from whom, how long against the target, flags, first words, who is reviewing", "moderation", STAFF, _queue, response=queue.Queue, query=queue.QueueQuery),
    ApiRoute("POST", ITEM + "/claim", "claimItem", "Claim an item for review, unless a colleague holds it (then their claim is returned, mine=false)", "moderation", STAFF_ITEM, _claim, response=claims.ClaimState),
    ApiRoute("POST", ITEM + "/take-over", "takeOverItem", "Take an item over from the colleague reviewing it (kept, with their name)", "moderation", STAFF_ITEM, _take_over, response=claims.ClaimState),
    ApiRoute("GET", "/families/search", "searchFamilies", "Find families by case reference, child's first name, parent's name or court order reference", "families", STAFF, _search_families, response=search.FamilySearch, query=search.FamilySearchInput),
    ApiRoute("GET", "/families", "listFamilies", "List the centre's families", "families", ADMIN, _list_families, response=families.FamilySummary, many=True),
    ApiRoute("GET", F, "getFamily", "Read a family's case file", "families", ADMIN_FAMILY, _get_family, response=families.FamilyDetail),
    ApiRoute("PATCH", F, "updateFamily", "Change a family's contact level, channels, status or second approval", "families", ADMIN_FAMILY, _update_family, body=families.FamilySettingsInput, response=families.FamilyDetail),
    ApiRoute("POST", F + "/children", "addChild", "Add a child to a family", "families", ADMIN_FAMILY, _add_child, body=referrals.ChildInput, response=families.ChildView, status=201),
    ApiRoute("PUT", F + "/children/{child_id}", "updateChild", "Change a child's name or year of birth", "families", ADMIN_FAMILY, _update_child, body=referrals.ChildInput, response=families.ChildView),
    ApiRoute("DELETE", F + "/children/{child_id}", "removeChild", "Remove a child with nothing on record", "families", ADMIN_FAMILY, _remove_child),
    ApiRoute("POST", F + "/sensitive-terms", "addSensitiveTerm", "Add a word or phrase to the family's private watch list", "families", ADMIN_FAMILY, _add_term, body=families.SensitiveTermInput, response=families.TermView, status=201),
    ApiRoute("DELETE", F + "/sensitive-terms/{term_id}", "removeSensitiveTerm", "Remove a word or phrase from the watch list", "families", ADMIN_FAMILY, _remove_term),
    ApiRoute("POST", F + "/parents", "inviteParent", "Invite a parent or relative by e-mail as an approved sender", "families", ADMIN_FAMILY, _invite_parent, body=families.ParentInviteInput, response=families.SenderView, status=201),
    ApiRoute("POST", F + "/senders/{sender_id}/resend-invite", "resendInvite", "Send a fresh invite link to a parent who has not set up their account", "families", ADMIN_FAMILY, _resend_invite, response=families.SenderView),
    ApiRoute("PUT", F + "/senders/{sender_id}/approval", "setSenderApproval", "Allow or stop a sender", "families", ADMIN_FAMILY, _sender_approval, body=families.SenderApprovalInput, response=families.SenderView),
    ApiRoute("POST", F + "/referrer-access", "grantReferrerAccess", "Give a referrer time-limited read-only access to the family", "families", ADMIN_FAMILY, _grant_referrer, body=families.ReferrerAccessInput, response=families.ReferrerAccessView, status=201),
    ApiRoute("DELETE", F + "/referrer-access/{access_id}", "revokeReferrerAccess", "End a referrer's access now", "families", ADMIN_FAMILY, _revoke_referrer),
    ApiRoute("GET", "/centre/contact", "getCentreContact", "The centre's phone, e-mail and opening hours shown to parents", "centre", ADMIN, _centre_contact, response=contact.CentreContactView),
    ApiRoute("PUT", "/centre/contact", "setCentreContact", "Set the centre's phone, e-mail and opening hours shown to parents", "centre", ADMIN, _set_centre_contact, body=contact.CentreContactInput, response=contact.CentreContactView),
    ApiRoute("GET", F + "/conversation", "getConversation", "What the parent sent to this family and the children's delivered replies, newest first", "parent", PARENT_FAMILY, _conversation, response=conversation.ConversationEntry, many=True),
    ApiRoute("GET", "/items/{item_id}/history", "getSentItem", "An item the parent sent: their words, pictures, status and its history with dates", "parent", PARENT_ITEM, _item_history, response=conversation.SentItem),
    ApiRoute("GET", "/replies/{item_id}", "getReply", "A delivered reply: its text and pictures", "parent", PARENT_ITEM, _reply, response=conversation.Reply),
    ApiRoute("GET", F + "/draft", "getDraft", "The letter the parent is writing to this family", "parent", PARENT_FAMILY, _get_draft, response=DraftView),
    ApiRoute("PUT", F + "/draft", "saveDraft", "Save the letter being written (sealed with the family key; not activity for the idle time-out when sent with Letterbox-Background: 1)", "parent", PARENT_FAMILY, _save_draft, body=DraftInput, response=DraftView),
    ApiRoute("DELETE", F + "/draft", "discardDraft", "Throw away the letter being written", "parent", PARENT_FAMILY, _discard_draft),
    ApiRoute("GET", "/calls/mine", "listMyCalls", "The parent's upcoming and past calls, in plain words, and whether Join is live", "parent", PARENT, _my_calls, response=ParentCall, many=True),
    ApiRoute("GET", "/calls", "listCalls", "List the centre's calls that are not over yet, soonest first", "calls", calls.READ_ALL, calls.list_calls, response=calls.CallView, many=True),
    ApiRoute("POST", F + "/calls", "scheduleCall", "Book a video call and e-mail the family's parents", "calls", calls.BOOK, calls.schedule_call, body=calls.CallInput, response=calls.CallView, status=201),
    ApiRoute("GET", "/calls/{call_id}", "getCall", "Read one call, whatever its state", "calls", calls.READ_ONE, calls.get_call, response=calls.CallView),
    ApiRoute("PUT", "/calls/{call_id}", "changeCall", "Change a booked call's child, supervisor or window and tell the parents", "calls", calls.CHANGE, calls.change_call, body=calls.CallChangeInput, response=calls.CallView),
    ApiRoute("POST", "/calls/{call_id}/cancel", "cancelCall", "Cancel a booked call and tell the parents (never why)", "calls", calls.CHANGE, calls.cancel_call, body=calls.CallCancelInput, response=calls.CallView),
    # Issue 20: the contact plan, supervised contact reports, safeguarding concerns.
    ApiRoute("GET", F + "/plan", "getPlan", "Read the family's contact plan and what is due, sent and overdue", "plan", plan_reports.PLAN_OF_FAMILY, plan_reports.get_plan, response=plan_reports.PlanView),
    ApiRoute("PUT", F + "/plan", "setPlan", "Set or change the family's contact plan (recorded)", "plan", plan_reports.PLAN_OF_FAMILY, plan_reports.set_plan, body=plan_reports.PlanInput, response=plan_reports.PlanView),
    ApiRoute("GET", "/plan/overdue", "listOverdueContact", "List the centre's overdue contact", "plan", plan_reports.STAFF, plan_reports.overdue, response=plan_reports.OverdueView, many=True),
    ApiRoute("POST", "/calls/{call_id}/report", "writeReport", "Write the supervised contact report of an ended call; it waits for a second person's check", "reports", plan_reports.CALL, plan_reports.write_report, body=plan_reports.ReportInput, response=plan_reports.ReportJson, status=201),
    ApiRoute("GET", F + "/reports/{report_id}", "getReport", "Read a contact report", "reports", plan_reports.FAMILY, plan_reports.get_report, response=plan_reports.ReportJson),
    ApiRoute("POST", F + "/reports/{report_id}/check", "checkReport", "Approve (seal) or return a report written by someone else", "reports", plan_reports.FAMILY, plan_reports.check_report, body=plan_reports.CheckInput, response=plan_reports.ReportJson),
    ApiRoute("POST", "/items/{item_id}/concern", "raiseConcernAboutItem", "Raise a safeguarding concern about an item: it is withheld at once", "concerns", plan_reports.ITEM, plan_reports.raise_about_item, body=plan_reports.ConcernInput, response=plan_reports.ConcernJson, status=201),
    ApiRoute("POST", "/calls/{call_id}/concern", "raiseConcernAboutCall", "Raise a safeguarding concern about a call", "concerns", plan_reports.CALL, plan_reports.raise_about_call, body=plan_reports.ConcernInput, response=plan_reports.ConcernJson, status=201),
    ApiRoute("POST", "/opening-sessions/{session_id}/concern", "raiseConcernAboutSession", "Raise a safeguarding concern about an opening session", "concerns", plan_reports.OPENING, plan_reports.raise_about_session, body=plan_reports.ConcernInput, response=plan_reports.ConcernJson, status=201),
    ApiRoute("GET", "/concerns", "listConcerns", "List the centre's safeguarding concerns (staff only; no content)", "concerns", plan_reports.CENTRE, plan_reports.list_concerns, response=plan_reports.ConcernJson, many=True),
    # Issue 20: in-centre visits, subject access, retention.
    ApiRoute("GET", F + "/visits", "listVisits", "The family's in-centre sessions, handovers and pre-visits, latest first, with who arrived and left when", "visits", va.VISITS, va.list_visits, response=va.FamilyVisitsJson),
    ApiRoute("POST", F + "/visits", "bookVisit", "Book a session, a handover (the two adults staggered so they never meet) or a pre-visit (recorded)", "visits", va.VISITS, va.book_visit, body=va.VisitInput, response=va.VisitJson, status=201),
    ApiRoute("PUT", F + "/visits/{visit_id}/attendance", "recordAttendance", "Record the arrival and departure of each adult and the child (notes for supervised contact only; recorded)", "visits", va.VISITS, va.record_attendance, body=va.AttendanceInput, response=va.VisitJson),
    ApiRoute("GET", F + "/subject-access", "listSubjectAccess", "The family's subject access requests and whom one can be for", "subject-access", va.ACCESS_START, va.list_requests, response=va.SubjectAccessList),
    ApiRoute("POST", F + "/subject-access", "startSubjectAccess", "Start a subject access request for a child or parent: gathers what the centre holds, other people blacked out, due in one month (recorded)", "subject-access", va.ACCESS_START, va.start_request, body=va.SubjectAccessInput, response=va.MaterialJson, status=201),
    ApiRoute("GET", F + "/subject-access/{request_id}", "getSubjectAccess", "Read a request for review: its deadline, entries, blacked-out parts and withheld names", "subject-access", va.ACCESS_REVIEW, va.get_request, response=va.MaterialJson),
    ApiRoute("POST", F + "/subject-access/{request_id}/parts/{part}", "decideSubjectAccessPart", "Show a blacked-out part with a reason, or black it out again (recorded; the reason stays sealed)", "subject-access", va.ACCESS_REVIEW, va.decide_part, body=va.PartInput, response=va.MaterialJson),
    ApiRoute("POST", F + "/subject-access/{request_id}/release", "releaseSubjectAccess", "Release the copy with the names chosen to be shown (recorded)", "subject-access", va.ACCESS_REVIEW, va.release_request, body=va.ReleaseInput, response=va.MaterialJson),
    ApiRoute("GET", F + "/subject-access/{request_id}/copy", "getSubjectAccessCopy", "The released machine-readable copy", "subject-access", va.ACCESS_REVIEW, va.copy_json, response=va.SubjectAccessCopy),
    ApiRoute("GET", F + "/subject-access/{request_id}/pdf", "getSubjectAccessPdf", "The released copy as a PDF", "subject-access", va.ACCESS_REVIEW, va.copy_pdf, media_type="application/pdf"),
    ApiRoute("GET", "/retention", "listRetention", "The centre's families with their retention rule and date, those due within a month first", "retention", va.RETENTION, va.list_retention, response=va.RetentionJson, many=True),
    ApiRoute("GET", "/retention/warnings", "listRetentionWarnings", "Families whose content is destroyed within a month (not held)", "retention", va.RETENTION, va.retention_warnings, response=va.RetentionJson, many=True),
    ApiRoute("GET", "/centre/retention", "getCentreRetention", "The centre's default retention rule", "retention", va.RETENTION, va.get_centre_retention, response=va.CentreRetentionJson),
    ApiRoute("PUT", "/centre/retention", "setCentreRetention", "Set the centre's default retention rule", "retention", va.RETENTION, va.set_centre_retention, body=va.CentreRetentionJson, response=va.CentreRetentionJson),
    ApiRoute("GET", F + "/retention", "getFamilyRetention", "The family's retention rule, when its content is destroyed, and its legal hold", "retention", va.RETENTION_FAMILY, va.get_family_retention, response=va.RetentionJson),
    ApiRoute("PUT", F + "/retention", "setFamilyRetention", "Set the family's retention rule and legal hold (recorded)", "retention", va.RETENTION_FAMILY, va.set_family_retention, body=va.RetentionRuleInput, response=va.RetentionJson),
    ApiRoute("PUT", F + "/retention/legal-hold", "setLegalHold", "Set or release the legal hold, keeping the rule (recorded)", "retention", va.RETENTION_FAMILY, va.set_legal_hold, body=va.LegalHoldInput, response=va.RetentionJson),
)  # fmt: skip


OPENAPI_PATH = PREFIX + "/openapi.json"


def add_routes(app: web.Application) -> None:
    for route in ROUTES:
        add_route(app, route.method, route.full_path, _handler(route), route.access)
