"""From what instructors download to submissions: finding the files, extracting one notebook's work, and
reading many at once in worker processes.

``sources.gather`` detects a source through ``sources.SOURCES``, the ordered registry of sources
(a folder of student folders, a Canvas or Moodle download, an nbgrader exchange or ``submitted/``
folder, JupyterHub homes), each a module with one class shaped like ``base.Source`` (a name,
``detect``, ``find``; zips read in place by ``archive``); adding a source is one module and one
registry line. It matches each sender to the roster (``identity``) and hands on an ``Intake``
(``submission``), which ``collect``, the dry run (``table``) and ``validate`` take as gathered.
Every file is read through one step, ``load`` (``reader`` runs it in worker processes), and
``duplicates`` decides which copy stands for a notebook, so the dry run and ``collect`` cannot
disagree about a file. Reads files; never writes any and never touches the log.
May import: ``course``, ``discussion``, ``notebook``.
"""
