"""Printed reports and the results poster (issue 13): content, PDF rendering, schedule and e-mail.

`period` says which days a report covers, `content` gathers its figures from
collector/reports.py, `render` turns them into PDF with WeasyPrint, `schedule`
sends the reports due to their subscribers, once per period.
"""
