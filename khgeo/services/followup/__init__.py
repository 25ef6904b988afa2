"""Follow-up that happens by itself (issue 15): reminders before deadlines, in the app and by e-mail, urging
letters (công văn đôn đốc) and calendar feeds.

- events.py: what is due for whom on a given day (a pure reading of tasks, the reporting cycle and zone history);
- notifications.py: users' notification settings (with defaults per role) and the in-app notifications;
- mail.py: the SMTP settings, the messages (Vietnamese, text + HTML) and the outbox with its sent-log and retries;
- notify.py: ``khgeo notify`` — events → notifications and queued mail, once, under a lock; then send;
- calendars.py: iCalendar feeds of an agency's or a user's deadlines at a secret, revocable address;
- letters.py: the urging letter as a DOCX in the form of Nghị định 30/2020.

No Flask here beyond lazy translations; the web pages are khgeo/web/followup.py.
"""
