"""Read the application form (PDF): fillable fields first, then the printed text by label.

Pure: bytes and the field map in, a :class:`FormReading` out. Never raises.
A value is exported only when it was read with certainty (DESIGN.md, step 4):
text clipped at its box or the page edge, glyphs without letters and text made
by a scanner's OCR give a missing value and a problem that says we could not
read it, which is a different code from "not filled in".

Stable API::

    read_application_form(data: bytes, fieldmap: FieldMap, *, max_pages: int,
                          sizes: SizeLimits = DEFAULT) -> FormReading
    FormReading.values   # {key: {"value": <normalised>, "raw": str, "source": str}}
    FormReading.problems # [{"code": str, "field": str | None, "params": dict}]
    FormReading.method   # "fields" | "text" | None
    FormReading.form_version  # "1.0" when the document names its version, else None
    FormReading.pages    # page count, None if unknown
    FormReading.recognised  # True when our fields or labels were found (even if all empty):
                            #   use it to pick the application form among several PDFs
    FormReading.ocr_text # a scan's OCR text: an unverified hint for staff, never a value

Problem codes and their params (Danish texts live in config/problems.da.toml):

==========================  ==========  ==============================================
code                        field       params
==========================  ==========  ==============================================
form_corrupt                None        {"error": exception class name}
form_encrypted              None        {}
form_too_many_pages         None        {"pages": int, "max_pages": int}
form_unpacks_too_large      None        {"size": Danish size, "limit": Danish size}  (a stream,
                                        all streams, or the pages' descriptions inflate beyond
                                        the limits of ``parsers.limits``: checked first)
form_too_many_objects       None        {"objects": int, "max_objects": int}
form_scanned                None        {"pages": int}  (no text: a scan or photo)
form_empty                  None        {}  (the labels are there, every field empty)
form_not_recognised         None        {"pages": int}  (text, but none of our labels)
form_text_unreadable        None        {"pages": int}  (glyphs without letters where
                                        labels should be: the labels cannot be trusted,
                                        so no value is read; a person reads it)
form_ocr_layer              None        {"pages": int}  (pages are scanned pictures with
                                        a scanner's OCR text: handled like a scan, no
                                        value is read from it)
field_missing               key         {"label": str}  (a required field is empty)
field_unreadable            key         {"label": str, "reason": str}  (there is a value
                                        but it was not read with certainty: reason
                                        "clipped" (runs past or stops at its box or the
                                        page), "unmapped" (glyphs without letters, "?"
                                        for a letter), "label" (its label is partly
                                        unreadable) or "runs_into_label")
field_label_not_found       key         {"label": str}  (the field's label is not in the
                                        printed text, so its value cannot be found)
field_malformed             key         {"label": str, "raw": str, "reason": str}
cvr_check_digit             "cvr"       {"label": str, "raw": str, "reason": str}
municipality_unknown        key         {"label": str, "raw": str, "reason": str}
field_needs_review          key         {"label": str, "reason": "printed_choice"}
                                        (a radio button in a print: a person looks)
==========================  ==========  ==============================================

Reading by label (DESIGN.md): pdfplumber word positions with ``x_tolerance`` 3,
plus text typed onto the page as FreeText annotations (read with pypdf); a
label is a line that starts with the label's words at the left margin. Where
the print shows the field's box (a drawn rectangle beside or below the label),
the value is the text inside that box; otherwise the text to the right of the
label and the following lines until the next label or one of the map's
``stop_texts``. Pages are closed as soon as they are read, so memory stays
bounded.
"""

from parsers.form.reading import FormReading, read_application_form

__all__ = ["FormReading", "read_application_form"]
