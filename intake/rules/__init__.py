"""The checks, as rules: one small class per check, collected in ``registry.py``.

``base.py`` says what a rule is and what it looks at (an application or a
final report); the rules live by what they look at: ``deadline.py``,
``attachments.py``, ``fields.py``, ``budget.py``, ``report.py``. ``texts.py``
puts a finding into Danish (``config/problems.da.toml``). Pure: no database,
no clock, no network. ``pulje-intake rules`` lists them all.
"""
