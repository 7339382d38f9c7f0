# mmil, the IL body tool: verify, roundtrip and dump over assemblies.
TOOLS += tools/mmil.c
ifeq ($(OS),linux)
SCRIPT_TESTS    += mmil-cli mmil-corpus
test.mmil-cli    := tests/mmil_cli.sh $(BUILD)/tools/mmil
test.mmil-corpus := tests/mmil_corpus.sh $(BUILD)/tools/mmil
endif
