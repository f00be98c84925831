"""What an analyst investigates, whoever asks (the API, the CLI, the console).

stories.py   signals grouped into stories: grouping, scoring, titles, triage
graph.py     a story's investigation graph, compacted and bounded
exports.py   that graph as Cytoscape.js JSON and GraphML
timeline.py  a story's threat timeline, a cursor page at a time
paging.py    page sizes and opaque cursors shared by the lists
"""
