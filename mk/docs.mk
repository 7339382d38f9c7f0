# The manual: README.md (the front door) and docs/.  Its links must resolve,
# the README stay short, and no tracked file name a path of one machine.
SCRIPT_TESTS += docs
test.docs    := tests/docs_links.sh
