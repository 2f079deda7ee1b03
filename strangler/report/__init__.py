"""How far the migration is: per endpoint and overall (`strangler status`, `strangler report`,
the dashboard).

progress   the figures, gathered from the apps, the flag store, every worker and the last
           contract run
render     the same as a terminal table, Markdown and HTML
"""
