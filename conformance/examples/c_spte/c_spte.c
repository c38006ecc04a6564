/*
 * c_spte: an out-of-process implementation of the kvm-mmio conformance suite's spte layer, in C.
 *
 * Why it exists: to show that the suite is language-neutral. It speaks the adapter protocol (one
 * JSON object per line on stdin, one answer per line on stdout; conformance/README.md), answers
 * "hello" and "spte", and implements the MMIO spte encoding of two kernel eras, v5.0 and v6,
 * for shadow paging and EPT. It declares exactly that in its capabilities, so the suite skips the
 * v5.1 cases and says why; every other op is answered {"error"}.
 *
 *   gcc -std=c99 -O2 -Wall -Wextra -o c_spte c_spte.c
 *   kvm-mmio conformance --cmd ./c_spte
 *
 * The arithmetic follows the facts in kvm_mmio/spte.py (which cites the kernel files); it is an
 * independent description, not kernel code. The JSON reader is minimal but complete enough to
 * refuse every malformed request of the vectors: objects, arrays, strings with escapes, numbers,
 * true, false, null.
 */

#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- a minimal JSON reader --------------------------------------------------------------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype type;
    int boolean;
    int is_int;          /* a number without fraction or exponent that fits in long long */
    long long integer;
    char *str;           /* J_STR: the decoded text */
    size_t n;            /* J_ARR, J_OBJ: number of items */
    char **keys;         /* J_OBJ */
    struct jval **items; /* J_ARR, J_OBJ */
} jval;

typedef struct {
    const char *p;
    const char *end;
    int depth;
} parser;

static void jfree(jval *v) {
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        if (v->keys)
            free(v->keys[i]);
        jfree(v->items[i]);
    }
    free(v->keys);
    free(v->items);
    free(v->str);
    free(v);
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A JSON string at ps->p (the opening quote), decoded into a fresh buffer; NULL if malformed. */
static char *parse_string(parser *ps) {
    ps->p++;
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    while (out && ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p++;
        unsigned code = c;
        if (c < 0x20)
            goto bad;
        if (c == '\\') {
            if (ps->p >= ps->end)
                goto bad;
            char e = *ps->p++;
            switch (e) {
            case '"': code = '"'; break;
            case '\\': code = '\\'; break;
            case '/': code = '/'; break;
            case 'b': code = '\b'; break;
            case 'f': code = '\f'; break;
            case 'n': code = '\n'; break;
            case 'r': code = '\r'; break;
            case 't': code = '\t'; break;
            case 'u':
                code = 0;
                for (int i = 0; i < 4; i++) {
                    int h = ps->p < ps->end ? hexval(*ps->p++) : -1;
                    if (h < 0)
                        goto bad;
                    code = code * 16 + (unsigned)h;
                }
                break;
            default:
                goto bad;
            }
        }
        if (len + 4 >= cap) {
            char *grown = realloc(out, cap *= 2);
            if (!grown)
                goto bad;
            out = grown;
        }
        if (code < 0x80) { /* UTF-8 for \u escapes; surrogate pairs are kept as two units */
            out[len++] = (char)code;
        } else if (code < 0x800) {
            out[len++] = (char)(0xC0 | (code >> 6));
            out[len++] = (char)(0x80 | (code & 0x3F));
        } else {
            out[len++] = (char)(0xE0 | (code >> 12));
            out[len++] = (char)(0x80 | ((code >> 6) & 0x3F));
            out[len++] = (char)(0x80 | (code & 0x3F));
        }
    }
    if (!out || ps->p >= ps->end)
        goto bad;
    ps->p++; /* the closing quote */
    out[len] = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

static jval *parse_value(parser *ps);

static jval *new_value(jtype type) {
    jval *v = calloc(1, sizeof *v);
    if (v)
        v->type = type;
    return v;
}

static int append(jval *v, char *key, jval *item) {
    char **keys = v->type == J_OBJ ? realloc(v->keys, (v->n + 1) * sizeof *keys) : NULL;
    if (v->type == J_OBJ) {
        if (!keys)
            return 0;
        v->keys = keys;
        v->keys[v->n] = key;
    }
    jval **items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (!items)
        return 0;
    v->items = items;
    v->items[v->n++] = item;
    return 1;
}

/* An object or an array at ps->p ('{' or '['). */
static jval *parse_container(parser *ps, jtype type) {
    char close = type == J_OBJ ? '}' : ']';
    jval *v = new_value(type);
    if (!v || ++ps->depth > 64)
        goto bad;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return v;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(ps);
        if (type == J_OBJ) {
            if (ps->p >= ps->end || *ps->p != '"' || !(key = parse_string(ps)))
                goto bad;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                goto bad;
            }
            ps->p++;
        }
        jval *item = parse_value(ps);
        if (!item || !append(v, key, item)) {
            free(key);
            jfree(item);
            goto bad;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return v;
        }
        goto bad;
    }
bad:
    jfree(v);
    return NULL;
}

static jval *parse_number(parser *ps) {
    const char *start = ps->p;
    int is_int = 1;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end || !isdigit((unsigned char)*ps->p))
        return NULL;
    if (*ps->p == '0')
        ps->p++;
    else
        while (ps->p < ps->end && isdigit((unsigned char)*ps->p))
            ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        is_int = 0;
        ps->p++;
        if (ps->p >= ps->end || !isdigit((unsigned char)*ps->p))
            return NULL;
        while (ps->p < ps->end && isdigit((unsigned char)*ps->p))
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        is_int = 0;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || !isdigit((unsigned char)*ps->p))
            return NULL;
        while (ps->p < ps->end && isdigit((unsigned char)*ps->p))
            ps->p++;
    }
    jval *v = new_value(J_NUM);
    if (!v)
        return NULL;
    /* 18 digits always fit in a long long; longer integers are out of every range here. */
    v->is_int = is_int && (ps->p - start) <= 18;
    if (v->is_int)
        v->integer = strtoll(start, NULL, 10);
    return v;
}

static jval *parse_literal(parser *ps, const char *word, jtype type, int boolean) {
    size_t len = strlen(word);
    if ((size_t)(ps->end - ps->p) < len || strncmp(ps->p, word, len) != 0)
        return NULL;
    ps->p += len;
    jval *v = new_value(type);
    if (v)
        v->boolean = boolean;
    return v;
}

static jval *parse_value(parser *ps) {
    skip_ws(ps);
    if (ps->p >= ps->end)
        return NULL;
    switch (*ps->p) {
    case '{':
        return parse_container(ps, J_OBJ);
    case '[':
        return parse_container(ps, J_ARR);
    case '"': {
        char *text = parse_string(ps);
        jval *v = text ? new_value(J_STR) : NULL;
        if (v)
            v->str = text;
        else
            free(text);
        return v;
    }
    case 't':
        return parse_literal(ps, "true", J_BOOL, 1);
    case 'f':
        return parse_literal(ps, "false", J_BOOL, 0);
    case 'n':
        return parse_literal(ps, "null", J_NULL, 0);
    default:
        return parse_number(ps);
    }
}

/* The whole line as one JSON value, or NULL. */
static jval *parse_json(const char *text, size_t len) {
    parser ps = {text, text + len, 0};
    jval *v = parse_value(&ps);
    skip_ws(&ps);
    if (v && ps.p != ps.end) {
        jfree(v);
        return NULL;
    }
    return v;
}

static jval *member(const jval *object, const char *key) {
    for (size_t i = 0; object && object->type == J_OBJ && i < object->n; i++)
        if (strcmp(object->keys[i], key) == 0)
            return object->items[i];
    return NULL;
}

/* Whether `object` has exactly the keys of the NULL-terminated `keys`. */
static int has_exactly(const jval *object, const char *const *keys) {
    size_t count = 0;
    for (; keys[count]; count++)
        if (!member(object, keys[count]))
            return 0;
    return object->n == count;
}

/* ---- the MMIO spte encoding of v5.0 (era A) and v6 (era B) ---------------------------- */

typedef struct {
    int gen_start, spte_start, width;
} part;

typedef struct {
    const char *name;
    char family;
    uint64_t gen_mask;
    part store[2];
    part load[2]; /* v5.0 reads every bit from 52 up: spte bit 63 lands in generation bit 21 */
    uint64_t in_progress;
} era;

static const era ERAS[] = {
    {"v5.0", 'A', 0xFFFFF, {{1, 3, 9}, {10, 52, 10}}, {{1, 3, 9}, {10, 52, 12}}, 1},
    {"v6", 'B', 0x7FFFF, {{0, 3, 8}, {8, 52, 11}}, {{0, 3, 8}, {8, 52, 11}}, 1ULL << 63},
};

#define BIT(n) (1ULL << (n))
#define GENMASK(high, low) ((~0ULL >> (63 - (high))) & ~(BIT(low) - 1))
#define PAGE_SHIFT 12
#define RSVD_LEN 5
#define SPECIAL BIT(62) /* era A SPTE_SPECIAL_MASK */
#define SHADOW_MMIO (BIT(51) | 1)

typedef struct {
    const era *e;
    int ept;
    int phys_bits, cache_bits, l1tf;
} profile;

static uint64_t part_mask(part p) { return GENMASK(p.spte_start + p.width - 1, p.spte_start); }

static uint64_t mmio_value(const profile *p) {
    if (p->e->family == 'A')
        return p->ept ? (6 | SPECIAL) : ((p->phys_bits == 52 ? BIT(51) : SHADOW_MMIO) | SPECIAL);
    return p->ept ? 6 : (p->phys_bits == 52 ? 0 : SHADOW_MMIO);
}

static uint64_t mmio_mask(const profile *p) {
    if (p->e->family == 'A')
        return p->ept ? (7 | SPECIAL) : mmio_value(p);
    return p->ept ? (7 | BIT(63)) : (p->phys_bits == 52 ? 0 : SHADOW_MMIO);
}

static int caching_enabled(const profile *p) { return p->e->family == 'A' || mmio_value(p) != 0; }

static uint64_t access_mask(const profile *p) { return p->e->family == 'B' && p->ept ? 0 : 6; }

static uint64_t access_decode_mask(const profile *p) {
    if (p->e->family == 'B')
        return access_mask(p);
    uint64_t gen_bits = part_mask(p->e->store[0]) | part_mask(p->e->store[1]);
    return 0xFFF & ~gen_bits & ~mmio_mask(p);
}

/* The L1TF window: era A by phys_bits whenever < 47, era B by cache_bits with the L1TF bug. */
static int l1tf_width(const profile *p) {
    if (p->e->family == 'A')
        return p->phys_bits < 52 - RSVD_LEN ? p->phys_bits : 0;
    return p->l1tf && p->cache_bits < 52 - RSVD_LEN ? p->cache_bits : 0;
}

static uint64_t rsvd_mask(const profile *p) {
    int width = l1tf_width(p);
    return width ? GENMASK(width - 1, width - RSVD_LEN) : 0;
}

static uint64_t lower_gfn_mask(const profile *p) {
    int width = l1tf_width(p);
    return GENMASK((width ? width - RSVD_LEN : p->phys_bits) - 1, PAGE_SHIFT);
}

static uint64_t encode(const profile *p, uint64_t gfn, uint64_t access, uint64_t gen) {
    uint64_t gpa = gfn << PAGE_SHIFT, rsvd = rsvd_mask(p);
    uint64_t spte = mmio_value(p) | (access & access_mask(p)) | gpa | rsvd;
    spte |= (gpa & rsvd) << RSVD_LEN;
    for (int i = 0; i < 2; i++) {
        part s = p->e->store[i];
        spte |= ((gen >> s.gen_start) << s.spte_start) & part_mask(s);
    }
    return spte;
}

static uint64_t generation(const profile *p, uint64_t spte) {
    if (p->e->family == 'A')
        spte &= ~mmio_mask(p);
    uint64_t gen = 0;
    for (int i = 0; i < 2; i++) {
        part l = p->e->load[i];
        gen |= ((spte & part_mask(l)) >> l.spte_start) << l.gen_start;
    }
    return gen;
}

/* ---- requests ---------------------------------------------------------------------------- */

/* Parse a "0x..." string of at most 64 bits; 0 if it is not one. */
static int parse_u64(const jval *v, uint64_t *out) {
    if (!v || v->type != J_STR || (strncmp(v->str, "0x", 2) != 0 && strncmp(v->str, "0X", 2) != 0))
        return 0;
    const char *digits = v->str + 2;
    if (!*digits)
        return 0;
    uint64_t value = 0;
    int significant = 0;
    for (const char *c = digits; *c; c++) {
        int h = hexval(*c);
        if (h < 0)
            return 0;
        if (value || h)
            significant++;
        if (significant > 16)
            return 0;
        value = value << 4 | (uint64_t)h;
    }
    *out = value;
    return 1;
}

static int int_in(const jval *v, long long low, long long high, long long *out) {
    if (!v || v->type != J_NUM || !v->is_int || v->integer < low || v->integer > high)
        return 0;
    *out = v->integer;
    return 1;
}

/* The profile of a request, or an error message. */
static const char *parse_profile(const jval *v, profile *p) {
    static const char *const keys[] = {"era", "paging", "phys_bits", "cache_bits", "l1tf", NULL};
    long long phys, cache;
    if (!v || v->type != J_OBJ || !has_exactly(v, keys))
        return "profile: expected an object with era, paging, phys_bits, cache_bits, l1tf";
    const jval *name = member(v, "era"), *paging = member(v, "paging"), *l1tf = member(v, "l1tf");
    p->e = NULL;
    for (size_t i = 0; name->type == J_STR && i < sizeof ERAS / sizeof ERAS[0]; i++)
        if (strcmp(name->str, ERAS[i].name) == 0)
            p->e = &ERAS[i];
    if (!p->e)
        return "era: this implementation knows v5.0 and v6";
    if (paging->type != J_STR || (strcmp(paging->str, "shadow") && strcmp(paging->str, "ept")))
        return "paging: expected shadow or ept";
    p->ept = strcmp(paging->str, "ept") == 0;
    if (!int_in(member(v, "phys_bits"), 36, 52, &phys))
        return "phys_bits: expected an integer in 36..52";
    if (!int_in(member(v, "cache_bits"), phys, 52, &cache))
        return "cache_bits: expected an integer in phys_bits..52";
    if (l1tf->type != J_BOOL)
        return "l1tf: expected true or false";
    p->phys_bits = (int)phys;
    p->cache_bits = (int)cache;
    p->l1tf = l1tf->boolean;
    return NULL;
}

static void print_error(const char *message) { printf("{\"error\": \"%s\"}\n", message); }

/* Answer {"error": message} and leave the function. */
#define FAIL(message)                                                                              \
    do {                                                                                           \
        print_error(message);                                                                      \
        return;                                                                                    \
    } while (0)

static void answer_spte(const jval *req) {
    static const char *const encode_keys[] = {"op", "profile", "gfn", "access", "gen", NULL};
    static const char *const decode_keys[] = {"op", "profile", "spte", NULL};
    static const char *const check_keys[] = {"op", "profile", "spte", "current_gen", NULL};
    const jval *op = req && req->type == J_OBJ ? member(req, "op") : NULL;
    const char *const *keys = NULL;
    if (op && op->type == J_STR) {
        keys = !strcmp(op->str, "encode")   ? encode_keys
               : !strcmp(op->str, "decode") ? decode_keys
               : !strcmp(op->str, "check")  ? check_keys
                                            : NULL;
    }
    if (!keys)
        FAIL("request: expected an object with op encode, decode or check");
    if (!has_exactly(req, keys))
        FAIL("request: missing or unknown fields for this op");
    profile p;
    const char *problem = parse_profile(member(req, "profile"), &p);
    if (problem)
        FAIL(problem);
    if (keys == encode_keys) {
        uint64_t gfn, gen;
        long long access;
        if (!parse_u64(member(req, "gfn"), &gfn) || gfn >= BIT(p.phys_bits - PAGE_SHIFT))
            FAIL("gfn: expected a hex string below 1 << (phys_bits - 12)");
        if (!int_in(member(req, "access"), 0, 7, &access))
            FAIL("access: expected an integer in 0..7");
        if (!caching_enabled(&p))
            FAIL("profile: MMIO caching is disabled for this profile");
        if (!parse_u64(member(req, "gen"), &gen) || gen > p.e->gen_mask)
            FAIL("gen: expected a hex string within the era's generation mask");
        uint64_t spte = encode(&p, gfn, (uint64_t)access, gen);
        printf("{\"spte\": \"0x%llx\"}\n", (unsigned long long)spte);
        return;
    }
    uint64_t spte, current;
    if (!parse_u64(member(req, "spte"), &spte))
        FAIL("spte: expected a 64-bit hex string");
    if (keys == decode_keys) {
        int is_mmio = (spte & mmio_mask(&p)) == mmio_value(&p) && caching_enabled(&p);
        uint64_t gpa = (spte & lower_gfn_mask(&p)) | ((spte >> RSVD_LEN) & rsvd_mask(&p));
        printf("{\"is_mmio\": %s, \"gfn\": \"0x%llx\", \"access\": %llu, \"gen\": \"0x%llx\"}\n",
               is_mmio ? "true" : "false", (unsigned long long)(gpa >> PAGE_SHIFT),
               (unsigned long long)(spte & access_decode_mask(&p)),
               (unsigned long long)generation(&p, spte));
        return;
    }
    if (!parse_u64(member(req, "current_gen"), &current))
        FAIL("current_gen: expected a 64-bit hex string");
    int hit = !(current & p.e->in_progress) && (current & p.e->gen_mask) == generation(&p, spte);
    printf("{\"hit\": %s}\n", hit ? "true" : "false");
}

static void answer_message(const char *line, size_t len) {
    jval *message = parse_json(line, len);
    const jval *op = member(message, "op");
    if (!op || op->type != J_STR) {
        print_error("message: expected a JSON object with an op");
    } else if (!strcmp(op->str, "hello")) {
        puts("{\"name\": \"c_spte example\", \"protocol\": 1, \"capabilities\": {\"layers\": "
             "[\"spte\"], \"spte\": {\"eras\": [\"v5.0\", \"v6\"], \"paging\": [\"shadow\", "
             "\"ept\"]}}}");
    } else if (!strcmp(op->str, "spte")) {
        answer_spte(member(message, "request"));
    } else {
        print_error("op: this implementation answers hello and spte only");
    }
    jfree(message);
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) != -1) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        answer_message(line, (size_t)len);
        fflush(stdout);
    }
    free(line);
    return 0;
}
