#!/usr/bin/env python3
"""Cobertura XML to one canonical line per covered source line:
    FILE:LINE CLASS hits=N cond=C
FILE relative to ROOT (the project's source folder), CLASS the cobertura
class (a line can belong to a type and to a compiler-generated one), cond
the condition-coverage text and each condition's number, type and coverage
("-" for a line without branches).  Sorted, so two runs compare with diff.
Only files under ROOT count; a report with none of them is an error.
usage: normalize.py COBERTURA.xml ROOT"""
import os
import sys
import xml.etree.ElementTree as ET


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[-1])
    path, root = sys.argv[1], os.path.realpath(sys.argv[2])
    out = set()
    for cls in ET.parse(path).getroot().iter("class"):
        src = os.path.realpath(cls.get("filename", ""))
        if not src.startswith(root + os.sep):
            continue
        rel = os.path.relpath(src, root)
        # The class's own <lines>, not those repeated under <methods>.
        lines = cls.find("lines")
        for line in lines if lines is not None else ():
            cond = "-"
            if line.get("branch") == "True":
                parts = [line.get("condition-coverage", "?")]
                for c in line.iter("condition"):
                    parts.append("%s:%s:%s" % (c.get("number"), c.get("type"), c.get("coverage")))
                cond = ",".join(parts).replace(" ", "")
            out.add("%s:%s %s hits=%s cond=%s" % (rel, line.get("number"), cls.get("name"), line.get("hits"), cond))
    if not out:
        sys.exit("normalize.py: %s has no line of a file under %s" % (path, root))
    for item in sorted(out, key=lambda s: (s.split(":")[0], int(s.split(":")[1].split()[0]), s)):
        print(item)


main()
