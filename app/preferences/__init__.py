"""The person's subscriptions: which lists a business unit has (``directory``) and the pages built on it."""
