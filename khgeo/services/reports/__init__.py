"""The yearly reporting cycle and its documents.

``cycle`` is the cycle itself (deadlines 15/12 and 31/12, agencies' reports and attachments); ``data`` gathers what
the consolidated report says (a fixed number of queries); ``docx`` writes it as an administrative document on
``docx_layout`` (Decree 30/2020 page, masthead, tables) in ``wording`` (Vietnamese numbers, dates, labels), ``xlsx``
as a workbook through the one spreadsheet writer, ``map_figure`` draws its map; ``documents`` caches heavy documents
across app instances.
"""
