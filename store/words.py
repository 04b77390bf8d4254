"""The domain's words, defined once: the values the database's state, status, kind,
role and purpose columns hold.

Every other module names these members instead of spelling the strings. They are
``StrEnum``s, so a member *is* its string: it is stored, compared and shown as
the Danish or English word below, and rows written before this module existed
read back equal to the members.

Nothing here touches the database: routing and the rules, which must stay pure,
may import it.
"""

from __future__ import annotations

from enum import StrEnum


class MessageState(StrEnum):
    """Where a stored raw message is on its way through the pipeline."""

    STORED = "stored"
    PROCESSED = "processed"
    FAILED = "failed"
    QUARANTINED = "quarantined"


#: States a message never leaves by itself (only ``reprocess`` or a person moves it on).
TERMINAL_STATES = (MessageState.PROCESSED, MessageState.QUARANTINED)


class Outcome(StrEnum):
    """What routing made of a message (``RawMessage.outcome``)."""

    CASE = "case"
    FOLLOWUP = "followup"
    TRIAGE = "triage"
    IGNORED = "ignored"


class MailKind(StrEnum):
    """The kinds of mail intake knows how to handle (the pool file names which subjects they have)."""

    APPLICATION = "application"
    REPORT = "report"
    DOCUMENTATION = "documentation"


class CaseStatus(StrEnum):
    """A case's or submission's status, as staff and applicants read it (Danish)."""

    RECEIVED = "modtaget"
    INCOMPLETE = "mangler"
    COMPLETE = "komplet"
    LATE = "for sent"
    GRANTED = "bevilget"
    REJECTED = "afslag"


#: Statuses a newer submission may still replace (one organisation, one case).
UNDECIDED = (CaseStatus.RECEIVED, CaseStatus.INCOMPLETE, CaseStatus.COMPLETE)
#: The committee's decisions: processing never overwrites them.
DECIDED = (CaseStatus.GRANTED, CaseStatus.REJECTED)


class AttachmentRole(StrEnum):
    """What an attachment is for its case (``Attachment.role``)."""

    FORM = "form"
    BUDGET = "budget"
    REPORT_PART = "rapportdel"  # the parts it holds are in ``Attachment.parts``
    DOCUMENTATION_PART = "dokumentation"  # a quarter's documentation; its parts are in ``Attachment.parts``
    OTHER = "bilag"
    TOO_LARGE = "for stor"


class CaseEventKind(StrEnum):
    """What happened to a case (``CaseEvent.kind``, and the case-change hooks)."""

    CREATED = "created"
    SUBMISSION = "submission"
    RESUBMISSION = "resubmission"
    FOLLOWUP = "followup"
    REPROCESSED = "reprocessed"
    DECISION = "decision"
    JOINED = "joined"  # a person joined a mail to the case (the web page)
    RESOLVED = "resolved"  # a person dealt with something that needed them (who, how: the detail)
    QUARTER = "quarter"  # a grant's quarter: documentation in, approved, rejected, put on a payout list
    LETTER = "letter"  # a decision letter was queued for the applicant


class SenderAuth(StrEnum):
    """What the inbox's own mail server said about a case's sender (``Case.sender_auth``)."""

    VERIFIED = "bekræftet"  # DMARC passed, or SPF/DKIM aligned with the From domain
    UNVERIFIED = "ikke bekræftet"  # no automatic mail goes to this sender
    UNCHECKED = "ikke tjekket"  # no trusted Authentication-Results header is configured


class OutboxState(StrEnum):
    """Where a mail we send is (``OutboxMessage.state``)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # the server refused it for good (5xx)
    SUPPRESSED = "suppressed"
    HELD = "held"  # the server said "try later" (4xx) max_attempts times: waits for a person


class OutboxPurpose(StrEnum):
    """Why we send a mail (``OutboxMessage.purpose``; a reminder adds ``-<its id>``)."""

    RECEIPT = "receipt"
    REMINDER = "reminder"
    DIGEST = "digest"
    DECISION_LETTER = "decision-letter"  # bevilling or afslag, once per decision (a change: a correction)
    DOCUMENTATION_RECEIPT = "documentation-receipt"  # a quarter's documentation arrived
    DOCUMENTATION_REMINDER = "documentation-reminder"  # a quarter's documentation is missing
    DOCUMENTATION_APPROVED = "documentation-approved"  # staff approved a quarter: it will be paid
    DOCUMENTATION_REJECTED = "documentation-rejected"  # staff rejected a quarter, with their reason


class QuarterState(StrEnum):
    """Where a grant's quarter is (``GrantQuarter.state``): its documentation in, approved or rejected."""

    RECEIVED = "modtaget"  # documentation arrived; staff have not decided yet
    APPROVED = "godkendt"  # staff approved it: the quarter goes on the next payout list
    REJECTED = "afvist"  # staff rejected it, with a reason the grantee got


class LetterKind(StrEnum):
    """The kind of a decision letter (``DecisionLetter.kind``): what the committee decided."""

    GRANT = "bevilling"
    REJECTION = "afslag"


class Severity(StrEnum):
    """How much a problem weighs (``Submission.problems[].severity``)."""

    ERROR = "error"  # the applicant must fix it: the case is "mangler"
    WARNING = "warning"  # staff should look; does not block "komplet"


class WorkKind(StrEnum):
    """What kind of thing needs a person ("I dag" in the web page, first in the digest)."""

    TRIAGE = "triage"  # mail routing could not place
    REPLY = "reply"  # an applicant's reply that made no submission: a question or a correction
    REVIEW = "review"  # values of a current submission flagged for a person (warnings)
    QUARANTINE = "quarantine"  # mail that failed processing again and again
    UNSENT = "unsent"  # a mail to an applicant that could not be sent (failed or suppressed)


class Resolution(StrEnum):
    """How a person dealt with a work item (``WorkResolution.resolution``)."""

    ANSWERED = "answered"  # answered outside the tool (in the mail client, by phone)
    JOINED = "joined"  # the mail was joined to a case
    NEW_CASE = "new_case"  # the mail was made an application or report case
    CHECKED = "checked"  # flagged values compared with the document
    DISMISSED = "dismissed"  # not relevant

