"""From what instructors download to submissions: finding the files, extracting one notebook's work, and
reading many at once in worker processes.

``sources.gather`` detects a source (a folder of student folders, a Canvas or Moodle download, an
nbgrader exchange or ``submitted/`` folder, JupyterHub homes), lists its files through one module
per source (zips read in place by ``archive``), and matches each sender to the roster
(``identity``). Reads files; never writes any and never touches the log.
May import: ``course``, ``discussion``, ``notebook``.
"""
