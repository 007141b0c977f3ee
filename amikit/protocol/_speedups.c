/*
 * amikit.protocol._speedups: the hot part of amikit.Message in C.
 *
 * MessageCore is the C twin of amikit.protocol._message._MessageCore (pure Python). Both
 * hold the frame bytes and the per-message slots, and implement the calls a busy consumer
 * makes for every message: construction, .raw, .name, get() and to_dict(). Everything else
 * (items(), getall(), old-style Command output, the odd frames) lives in Python, on the
 * Message class that derives from whichever core is in use; the C code hands those cases
 * to it by calling its methods (_get_parsed, _to_dict_general).
 *
 * The rules are those of _message.py (its module docstring), applied to the bytes:
 *   - a line ends at CRLF in a CRLF frame (a bare LF stays inside the value), at LF in an
 *     LF frame;
 *   - a header is split at the first colon; the value's leading blanks (space, tab) are
 *     skipped; keys match ASCII-case-insensitively and the first line that matches wins;
 *   - text is UTF-8 with U+FFFD for invalid bytes. Decoding a value alone gives the same
 *     text as decoding the whole frame and cutting it afterwards, because lines and
 *     headers are cut at ASCII bytes, which never belong to a multi-byte sequence.
 * tests/protocol/test_speedups.py checks that both cores agree on every real capture,
 * on mutated ones and on generated frames.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

/* Message._k bits, as in _message.py */
#define K_LF 1
#define K_FOLLOWS 2
#define K_NOTERM 4

static unsigned char lower_of[256];

typedef struct {
    PyObject_HEAD
    PyObject *frame; /* bytes, without the blank line when K_NOTERM */
    int k;
    PyObject *items; /* list of (key, value), once decoded by Message._parse */
    PyObject *stray;
    PyObject *received_at;
    PyObject *seq;
    PyObject *connection;
} CoreObject;

static PyObject *str_get_parsed;       /* "_get_parsed" */
static PyObject *str_to_dict_general;  /* "_to_dict_general" */
static PyObject *str_event;            /* "Event" */
static PyObject *str_response;         /* "Response" */
static PyObject *str_action;           /* "Action" */
static PyObject *empty_str;

/* -- keys --------------------------------------------------------------------------------
 * Decoded keys are looked up in a small cache first: AMI uses a few dozen distinct keys,
 * and a cached key is one string object whose hash is already known, which makes the
 * dictionary insertions of to_dict() cheaper too. Only short ASCII keys are cached. */

#define KEY_CACHE_SIZE 1024
#define KEY_CACHE_MAX_LEN 40

static PyObject *key_cache[KEY_CACHE_SIZE];

static PyObject *
decode_text(const char *p, Py_ssize_t n)
{
    return PyUnicode_DecodeUTF8(p, n, "replace");
}

static PyObject *
decode_key(const char *p, Py_ssize_t n)
{
    if (n == 0 || n > KEY_CACHE_MAX_LEN) {
        return decode_text(p, n);
    }
    unsigned int h = 2166136261u;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 128) {
            return decode_text(p, n);
        }
        h = (h ^ c) * 16777619u;
    }
    h ^= (unsigned int)n;
    PyObject **slot = &key_cache[h & (KEY_CACHE_SIZE - 1)];
    PyObject *hit = *slot;
    if (hit != NULL && PyUnicode_GET_LENGTH(hit) == n &&
        memcmp(PyUnicode_1BYTE_DATA(hit), p, (size_t)n) == 0) {
        Py_INCREF(hit);
        return hit;
    }
    PyObject *key = PyUnicode_DecodeASCII(p, n, "strict");
    if (key == NULL) {
        return NULL;
    }
    if (PyObject_Hash(key) == -1) {
        Py_DECREF(key);
        return NULL;
    }
    Py_INCREF(key);
    Py_XSETREF(*slot, key);
    return key;
}

/* -- line scanning ------------------------------------------------------------------- */

/* Index of the end of the line starting at pos (the CR of CRLF, or the LF), or n. */
static inline Py_ssize_t
line_end(const char *s, Py_ssize_t pos, Py_ssize_t n, int lf)
{
    if (lf) {
        const char *e = memchr(s + pos, '\n', (size_t)(n - pos));
        return e ? (Py_ssize_t)(e - s) : n;
    }
    while (pos < n) {
        const char *e = memchr(s + pos, '\r', (size_t)(n - pos));
        if (e == NULL) {
            return n;
        }
        Py_ssize_t i = (Py_ssize_t)(e - s);
        if (i + 1 < n && s[i + 1] == '\n') {
            return i;
        }
        pos = i + 1;
    }
    return n;
}

/* Is key (ASCII, no ':', '(', ')', CR, LF) one the byte scan looks up exactly? */
static int
simple_key(PyObject *key, const char **kp, Py_ssize_t *kn)
{
    if (!PyUnicode_Check(key) || !PyUnicode_IS_ASCII(key)) {
        return 0;
    }
    const char *s = (const char *)PyUnicode_1BYTE_DATA(key);
    Py_ssize_t n = PyUnicode_GET_LENGTH(key);
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ':' || c == '(' || c == ')' || c == '\r' || c == '\n') {
            return 0;
        }
    }
    *kp = s;
    *kn = n;
    return 1;
}

/* Value of the first line "key:" (any letter case) in a CRLF or LF frame; NULL with no
 * error set when no line matches. */
static PyObject *
scan_value(const char *s, Py_ssize_t n, const char *key, Py_ssize_t kn, int lf)
{
    Py_ssize_t eol = lf ? 1 : 2;
    unsigned char k0 = kn ? lower_of[(unsigned char)key[0]] : ':';
    Py_ssize_t pos = 0;
    for (;;) {
        if (n - pos > kn && lower_of[(unsigned char)s[pos]] == k0 && s[pos + kn] == ':') {
            Py_ssize_t i = 1;
            while (i < kn && lower_of[(unsigned char)s[pos + i]] == lower_of[(unsigned char)key[i]]) {
                i++;
            }
            if (i >= kn) {
                Py_ssize_t v = pos + kn + 1;
                Py_ssize_t e = line_end(s, v, n, lf);
                while (v < e && (s[v] == ' ' || s[v] == '\t')) {
                    v++;
                }
                return decode_text(s + v, e - v);
            }
        }
        Py_ssize_t e = line_end(s, pos, n, lf);
        if (e >= n) {
            return NULL;
        }
        pos = e + eol;
    }
}

/* get(key, dflt): a new reference, dflt for no match, NULL on error. */
static PyObject *
core_lookup(CoreObject *self, PyObject *key, PyObject *dflt)
{
    const char *kp;
    Py_ssize_t kn;
    if ((self->k & K_FOLLOWS) || !simple_key(key, &kp, &kn)) {
        return PyObject_CallMethodObjArgs((PyObject *)self, str_get_parsed, key, dflt, NULL);
    }
    PyObject *v = scan_value(PyBytes_AS_STRING(self->frame), PyBytes_GET_SIZE(self->frame),
                             kp, kn, self->k & K_LF);
    if (v == NULL && !PyErr_Occurred()) {
        Py_INCREF(dflt);
        return dflt;
    }
    return v;
}

/* -- the type ------------------------------------------------------------------------ */

static int
kind_of(PyObject *raw)
{
    const char *s = PyBytes_AS_STRING(raw);
    Py_ssize_t n = PyBytes_GET_SIZE(raw);
    const char *nl = memchr(s, '\n', (size_t)n);
    int kind = 0;
    if (nl != NULL && (nl == s || nl[-1] != '\r')) {
        kind = K_LF;
    }
    const char *follows = kind ? "Response: Follows\n" : "Response: Follows\r\n";
    size_t fl = strlen(follows);
    if ((size_t)n >= fl && memcmp(s, follows, fl) == 0) {
        kind |= K_FOLLOWS;
    }
    return kind;
}

static PyObject *
core_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *raw;
    int kind = -1;
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (kwds == NULL && nargs == 2 && PyLong_CheckExact(PyTuple_GET_ITEM(args, 1))) {
        /* the parser's call: Message(frame, kind) */
        raw = PyTuple_GET_ITEM(args, 0);
        kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(args, 1));
        if (kind == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    else {
        static char *names[] = {"raw", "_kind", NULL};
        if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|i:Message", names, &raw, &kind)) {
            return NULL;
        }
    }
    CoreObject *self = (CoreObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    if (PyBytes_Check(raw)) {  /* a subclass stays (EncodedAction masks its repr) */
        Py_INCREF(raw);
    }
    else {
        raw = PyBytes_FromObject(raw);  /* bytearray, memoryview */
        if (raw == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    self->frame = raw;
    self->k = kind >= 0 ? kind : kind_of(raw);
    return (PyObject *)self;
}

static int
core_traverse(CoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->items);
    Py_VISIT(self->stray);
    Py_VISIT(self->received_at);
    Py_VISIT(self->seq);
    Py_VISIT(self->connection);
    return 0;
}

static int
core_clear(CoreObject *self)
{
    Py_CLEAR(self->items);
    Py_CLEAR(self->stray);
    Py_CLEAR(self->received_at);
    Py_CLEAR(self->seq);
    Py_CLEAR(self->connection);
    return 0;
}

static void
core_dealloc(CoreObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    core_clear(self);
    Py_CLEAR(self->frame);
    /* A heap subclass's own dealloc (subtype_dealloc) drops the reference to its type. */
    tp->tp_free((PyObject *)self);
}

/* get(key, default=None), the arguments as the pure-Python twin takes them: positional or
 * by keyword. Positional calls (every hot path) never look at kwnames. */
static PyObject *
core_get(CoreObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *key = nargs > 0 ? args[0] : NULL;
    PyObject *dflt = nargs > 1 ? args[1] : NULL;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs > 2) {
        PyErr_Format(PyExc_TypeError, "get() takes 1 or 2 arguments (%zd given)", nargs);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, i);
        PyObject **slot;
        if (PyUnicode_CompareWithASCIIString(name, "key") == 0) {
            slot = &key;
        } else if (PyUnicode_CompareWithASCIIString(name, "default") == 0) {
            slot = &dflt;
        } else {
            PyErr_Format(PyExc_TypeError, "get() got an unexpected keyword argument '%U'", name);
            return NULL;
        }
        if (*slot != NULL) {
            PyErr_Format(PyExc_TypeError, "get() got multiple values for argument '%U'", name);
            return NULL;
        }
        *slot = args[nargs + i];
    }
    if (key == NULL) {
        PyErr_SetString(PyExc_TypeError, "get() missing 1 required positional argument: 'key'");
        return NULL;
    }
    return core_lookup(self, key, dflt != NULL ? dflt : Py_None);
}

static PyObject *
core_to_dict(CoreObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->items != NULL || (self->k & K_FOLLOWS)) {
        return PyObject_CallMethodNoArgs((PyObject *)self, str_to_dict_general);
    }
    const char *s = PyBytes_AS_STRING(self->frame);
    Py_ssize_t n = PyBytes_GET_SIZE(self->frame);
    int lf = self->k & K_LF;
    Py_ssize_t eol = lf ? 1 : 2;
    PyObject *out = PyDict_New();
    if (out == NULL) {
        return NULL;
    }
    Py_ssize_t pos = 0;
    while (pos <= n) {
        Py_ssize_t e = line_end(s, pos, n, lf);
        const char *colon = memchr(s + pos, ':', (size_t)(e - pos));
        if (colon != NULL) {
            Py_ssize_t c = (Py_ssize_t)(colon - s);
            if (memchr(s + pos, '(', (size_t)(c - pos)) != NULL &&
                memchr(s + pos, ')', (size_t)(c - pos)) == NULL) {
                goto general;  /* maybe the legacy "ChanVariable(chan:with:colons):" key */
            }
            PyObject *key = decode_key(s + pos, c - pos);
            if (key == NULL) {
                goto error;
            }
            int seen = PyDict_Contains(out, key);
            if (seen != 0) {
                Py_DECREF(key);
                if (seen < 0) {
                    goto error;
                }
                goto general;  /* a repeated key: its values become a list */
            }
            Py_ssize_t v = c + 1;
            while (v < e && (s[v] == ' ' || s[v] == '\t')) {
                v++;
            }
            PyObject *value = decode_text(s + v, e - v);
            if (value == NULL) {
                Py_DECREF(key);
                goto error;
            }
            int rc = PyDict_SetItem(out, key, value);
            Py_DECREF(key);
            Py_DECREF(value);
            if (rc < 0) {
                goto error;
            }
        }
        /* a line without a colon is not a header: it does not appear in the dict */
        pos = e + eol;
    }
    return out;
general:
    Py_DECREF(out);
    return PyObject_CallMethodNoArgs((PyObject *)self, str_to_dict_general);
error:
    Py_DECREF(out);
    return NULL;
}

static PyObject *
core_get_raw(CoreObject *self, void *Py_UNUSED(closure))
{
    if (self->k & K_NOTERM) {
        const char *tail = (self->k & K_LF) ? "\n\n" : "\r\n\r\n";
        Py_ssize_t n = PyBytes_GET_SIZE(self->frame);
        Py_ssize_t t = (Py_ssize_t)strlen(tail);
        PyObject *out = PyBytes_FromStringAndSize(NULL, n + t);
        if (out == NULL) {
            return NULL;
        }
        memcpy(PyBytes_AS_STRING(out), PyBytes_AS_STRING(self->frame), (size_t)n);
        memcpy(PyBytes_AS_STRING(out) + n, tail, (size_t)t);
        return out;
    }
    Py_INCREF(self->frame);
    return self->frame;
}

static PyObject *
core_get_name(CoreObject *self, void *Py_UNUSED(closure))
{
    const char *s = PyBytes_AS_STRING(self->frame);
    Py_ssize_t n = PyBytes_GET_SIZE(self->frame);
    if (!(self->k & (K_LF | K_FOLLOWS)) && n >= 6 && memcmp(s, "Event:", 6) == 0) {
        /* the usual case: the first line */
        Py_ssize_t v = 6;
        Py_ssize_t e = line_end(s, v, n, 0);
        while (v < e && (s[v] == ' ' || s[v] == '\t')) {
            v++;
        }
        return decode_text(s + v, e - v);
    }
    PyObject *v = core_lookup(self, str_event, Py_None);
    if (v != Py_None) {
        return v;
    }
    Py_DECREF(v);
    PyObject *names[2] = {str_response, str_action};
    for (int i = 0; i < 2; i++) {
        v = core_lookup(self, names[i], Py_None);
        if (v == NULL) {
            return NULL;
        }
        int truth = PyObject_IsTrue(v);
        if (truth != 0) {
            if (truth < 0) {
                Py_DECREF(v);
                return NULL;
            }
            return v;
        }
        Py_DECREF(v);
    }
    Py_INCREF(empty_str);
    return empty_str;
}

static PyMethodDef core_methods[] = {
    {"get", (PyCFunction)(void (*)(void))core_get, METH_FASTCALL | METH_KEYWORDS,
     "get(key, default=None): the first value of key (case-insensitive), or default."},
    {"to_dict", (PyCFunction)core_to_dict, METH_NOARGS,
     "Headers as a dict keyed by the original spelling (a repeated key maps to a list)."},
    {NULL}
};

static PyMemberDef core_members[] = {
    {"_frame", T_OBJECT, offsetof(CoreObject, frame), READONLY, NULL},
    {"_k", T_INT, offsetof(CoreObject, k), READONLY, NULL},
    {"_items", T_OBJECT, offsetof(CoreObject, items), 0, NULL},
    {"_stray", T_OBJECT, offsetof(CoreObject, stray), 0, NULL},
    {"received_at", T_OBJECT, offsetof(CoreObject, received_at), 0,
     "When the client read the frame (UTC, microseconds); None outside a client."},
    {"seq", T_OBJECT, offsetof(CoreObject, seq), 0,
     "The client's per-connection sequence number, counting from 1."},
    {"connection", T_OBJECT, offsetof(CoreObject, connection), 0,
     "The client's connection generation (1 for the first connection, +1 per reconnect)."},
    {NULL}
};

static PyGetSetDef core_getset[] = {
    {"raw", (getter)core_get_raw, NULL,
     "The exact bytes of the frame, terminating blank line included.", NULL},
    {"name", (getter)core_get_name, NULL,
     "The Event value; for a response, the Response value (Success, ...).", NULL},
    {NULL}
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "amikit.protocol._speedups.MessageCore",
    .tp_basicsize = sizeof(CoreObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C core of amikit.Message (frame bytes, slots, get, name, to_dict).",
    .tp_new = core_new,
    .tp_dealloc = (destructor)core_dealloc,
    .tp_traverse = (traverseproc)core_traverse,
    .tp_clear = (inquiry)core_clear,
    .tp_methods = core_methods,
    .tp_members = core_members,
    .tp_getset = core_getset,
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "amikit.protocol._speedups",
    "C core of amikit.Message (optional; amikit/protocol/_message.py has the pure-Python twin).",
    -1,
    NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    for (int c = 0; c < 256; c++) {
        lower_of[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    if (PyType_Ready(&CoreType) < 0) {
        return NULL;
    }
    str_get_parsed = PyUnicode_InternFromString("_get_parsed");
    str_to_dict_general = PyUnicode_InternFromString("_to_dict_general");
    str_event = PyUnicode_InternFromString("Event");
    str_response = PyUnicode_InternFromString("Response");
    str_action = PyUnicode_InternFromString("Action");
    empty_str = PyUnicode_FromString("");
    if (!str_get_parsed || !str_to_dict_general || !str_event || !str_response ||
        !str_action || !empty_str) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&speedups_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&CoreType);
    if (PyModule_AddObject(m, "MessageCore", (PyObject *)&CoreType) < 0) {
        Py_DECREF(&CoreType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
