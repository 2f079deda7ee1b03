"""The comparison core: what the contract runner and live shadowing both compare by.

jsonpath   the small JSON path dialect of the corpus
cases      what a corpus holds: cases of steps of requests, and the comparison rules
compare    two answers normalised by a pipeline of small steps, then diffed
corpus     loading the corpus (YAML files of cases), with errors naming the file and case
ledger     differences accepted on purpose, with why
results    what a contract run found; saved: the last whole run, for the reports
errors     a corpus or ledger file that cannot be read

No I/O beyond reading those files; nothing here runs an app.
"""
