"""Mail (issue 10): the company SMTP server and users' mailboxes, composing and sending (directly,
into the Drafts folder, or through Outlook), and the inbox that files mails as actions (S3, S7, S15)."""
