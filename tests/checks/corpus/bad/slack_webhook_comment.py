# expect: SEC103
import logging
import os

log = logging.getLogger(__name__)
# notifications go to https://hooks.slack.com/services/T024BE7LD/B01ABCD2EFG/XyZ12abcDEF34ghiJKL56mno
WEBHOOK = os.environ["SLACK_WEBHOOK"]
