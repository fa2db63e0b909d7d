/* rdb.c -- Redis's RDB serialization of values; see rdb.h.
 *
 * Lengths:  00xxxxxx                 6 bits
 *           01xxxxxx xxxxxxxx        14 bits, big-endian
 *           10000000 <4 bytes>       32 bits, big-endian
 *           10000001 <8 bytes>       64 bits, big-endian
 *           11xxxxxx                 a string in a special encoding:
 *                                    0-2: an 8/16/32-bit integer
 *                                    (little-endian), 3: LZF (compressed
 *                                    length, length, data)
 *
 * Redis's listpacks differ from Cairn's only in their header: a 16-bit
 * entry count (65535: count them) where Cairn has 32 bits.  Entries are
 * the same bytes, so a listpack crosses with its header rewritten.
 * Intsets are the same bytes.  Reading builds each value through its
 * type's own constructors, so it gets the encoding commands would give
 * it under this engine's thresholds (Redis's thresholds may differ). */
#include "rdb.h"

#include <lzf.h>
#include <math.h>
#include <string.h>

#include "../ds/alloc.h"
#include "../ds/intset.h"
#include "../ds/listpack.h"
#include "../ds/quicklist.h"
#include "../ds/util.h"
#include "../engine/t_hash.h"
#include "../engine/t_list.h"
#include "../engine/t_set.h"
#include "../engine/t_zset.h"

#define RDB_6BITLEN  0
#define RDB_14BITLEN 1
#define RDB_32BITLEN 0x80
#define RDB_64BITLEN 0x81
#define RDB_ENCVAL   3

#define RDB_ENC_INT8  0
#define RDB_ENC_INT16 1
#define RDB_ENC_INT32 2
#define RDB_ENC_LZF   3

/* Quicklist node containers (RDB_TYPE_LIST_QUICKLIST_2). */
#define QL_CONTAINER_PLAIN  1
#define QL_CONTAINER_PACKED 2

/* A Redis listpack header: total bytes (u32) and entry count (u16). */
#define RLP_HDR        6
#define RLP_COUNT_UNKN 65535
#define CLP_HDR        8

/* ---------------------------------------------------------------------- */
/* CRC64                                                                   */
/* ---------------------------------------------------------------------- */

/* Jones's polynomial 0xad93d23594c935a9, reflected: 0x95ac9329ac4bc9b5. */
static const uint64_t crc64_table[256] = {
    0x0000000000000000ull, 0x7ad870c830358979ull, 0xf5b0e190606b12f2ull, 0x8f689158505e9b8bull,
    0xc038e5739841b68full, 0xbae095bba8743ff6ull, 0x358804e3f82aa47dull, 0x4f50742bc81f2d04ull,
    0xab28ecb46814fe75ull, 0xd1f09c7c5821770cull, 0x5e980d24087fec87ull, 0x24407dec384a65feull,
    0x6b1009c7f05548faull, 0x11c8790fc060c183ull, 0x9ea0e857903e5a08ull, 0xe478989fa00bd371ull,
    0x7d08ff3b88be6f81ull, 0x07d08ff3b88be6f8ull, 0x88b81eabe8d57d73ull, 0xf2606e63d8e0f40aull,
    0xbd301a4810ffd90eull, 0xc7e86a8020ca5077ull, 0x4880fbd87094cbfcull, 0x32588b1040a14285ull,
    0xd620138fe0aa91f4ull, 0xacf86347d09f188dull, 0x2390f21f80c18306ull, 0x594882d7b0f40a7full,
    0x1618f6fc78eb277bull, 0x6cc0863448deae02ull, 0xe3a8176c18803589ull, 0x997067a428b5bcf0ull,
    0xfa11fe77117cdf02ull, 0x80c98ebf2149567bull, 0x0fa11fe77117cdf0ull, 0x75796f2f41224489ull,
    0x3a291b04893d698dull, 0x40f16bccb908e0f4ull, 0xcf99fa94e9567b7full, 0xb5418a5cd963f206ull,
    0x513912c379682177ull, 0x2be1620b495da80eull, 0xa489f35319033385ull, 0xde51839b2936bafcull,
    0x9101f7b0e12997f8ull, 0xebd98778d11c1e81ull, 0x64b116208142850aull, 0x1e6966e8b1770c73ull,
    0x8719014c99c2b083ull, 0xfdc17184a9f739faull, 0x72a9e0dcf9a9a271ull, 0x08719014c99c2b08ull,
    0x4721e43f0183060cull, 0x3df994f731b68f75ull, 0xb29105af61e814feull, 0xc849756751dd9d87ull,
    0x2c31edf8f1d64ef6ull, 0x56e99d30c1e3c78full, 0xd9810c6891bd5c04ull, 0xa3597ca0a188d57dull,
    0xec09088b6997f879ull, 0x96d1784359a27100ull, 0x19b9e91b09fcea8bull, 0x636199d339c963f2ull,
    0xdf7adabd7a6e2d6full, 0xa5a2aa754a5ba416ull, 0x2aca3b2d1a053f9dull, 0x50124be52a30b6e4ull,
    0x1f423fcee22f9be0ull, 0x659a4f06d21a1299ull, 0xeaf2de5e82448912ull, 0x902aae96b271006bull,
    0x74523609127ad31aull, 0x0e8a46c1224f5a63ull, 0x81e2d7997211c1e8ull, 0xfb3aa75142244891ull,
    0xb46ad37a8a3b6595ull, 0xceb2a3b2ba0eececull, 0x41da32eaea507767ull, 0x3b024222da65fe1eull,
    0xa2722586f2d042eeull, 0xd8aa554ec2e5cb97ull, 0x57c2c41692bb501cull, 0x2d1ab4dea28ed965ull,
    0x624ac0f56a91f461ull, 0x1892b03d5aa47d18ull, 0x97fa21650afae693ull, 0xed2251ad3acf6feaull,
    0x095ac9329ac4bc9bull, 0x7382b9faaaf135e2ull, 0xfcea28a2faafae69ull, 0x8632586aca9a2710ull,
    0xc9622c4102850a14ull, 0xb3ba5c8932b0836dull, 0x3cd2cdd162ee18e6ull, 0x460abd1952db919full,
    0x256b24ca6b12f26dull, 0x5fb354025b277b14ull, 0xd0dbc55a0b79e09full, 0xaa03b5923b4c69e6ull,
    0xe553c1b9f35344e2ull, 0x9f8bb171c366cd9bull, 0x10e3202993385610ull, 0x6a3b50e1a30ddf69ull,
    0x8e43c87e03060c18ull, 0xf49bb8b633338561ull, 0x7bf329ee636d1eeaull, 0x012b592653589793ull,
    0x4e7b2d0d9b47ba97ull, 0x34a35dc5ab7233eeull, 0xbbcbcc9dfb2ca865ull, 0xc113bc55cb19211cull,
    0x5863dbf1e3ac9decull, 0x22bbab39d3991495ull, 0xadd33a6183c78f1eull, 0xd70b4aa9b3f20667ull,
    0x985b3e827bed2b63ull, 0xe2834e4a4bd8a21aull, 0x6debdf121b863991ull, 0x1733afda2bb3b0e8ull,
    0xf34b37458bb86399ull, 0x8993478dbb8deae0ull, 0x06fbd6d5ebd3716bull, 0x7c23a61ddbe6f812ull,
    0x3373d23613f9d516ull, 0x49aba2fe23cc5c6full, 0xc6c333a67392c7e4ull, 0xbc1b436e43a74e9dull,
    0x95ac9329ac4bc9b5ull, 0xef74e3e19c7e40ccull, 0x601c72b9cc20db47ull, 0x1ac40271fc15523eull,
    0x5594765a340a7f3aull, 0x2f4c0692043ff643ull, 0xa02497ca54616dc8ull, 0xdafce7026454e4b1ull,
    0x3e847f9dc45f37c0ull, 0x445c0f55f46abeb9ull, 0xcb349e0da4342532ull, 0xb1eceec59401ac4bull,
    0xfebc9aee5c1e814full, 0x8464ea266c2b0836ull, 0x0b0c7b7e3c7593bdull, 0x71d40bb60c401ac4ull,
    0xe8a46c1224f5a634ull, 0x927c1cda14c02f4dull, 0x1d148d82449eb4c6ull, 0x67ccfd4a74ab3dbfull,
    0x289c8961bcb410bbull, 0x5244f9a98c8199c2ull, 0xdd2c68f1dcdf0249ull, 0xa7f41839ecea8b30ull,
    0x438c80a64ce15841ull, 0x3954f06e7cd4d138ull, 0xb63c61362c8a4ab3ull, 0xcce411fe1cbfc3caull,
    0x83b465d5d4a0eeceull, 0xf96c151de49567b7ull, 0x76048445b4cbfc3cull, 0x0cdcf48d84fe7545ull,
    0x6fbd6d5ebd3716b7ull, 0x15651d968d029fceull, 0x9a0d8ccedd5c0445ull, 0xe0d5fc06ed698d3cull,
    0xaf85882d2576a038ull, 0xd55df8e515432941ull, 0x5a3569bd451db2caull, 0x20ed197575283bb3ull,
    0xc49581ead523e8c2ull, 0xbe4df122e51661bbull, 0x3125607ab548fa30ull, 0x4bfd10b2857d7349ull,
    0x04ad64994d625e4dull, 0x7e7514517d57d734ull, 0xf11d85092d094cbfull, 0x8bc5f5c11d3cc5c6ull,
    0x12b5926535897936ull, 0x686de2ad05bcf04full, 0xe70573f555e26bc4ull, 0x9ddd033d65d7e2bdull,
    0xd28d7716adc8cfb9ull, 0xa85507de9dfd46c0ull, 0x273d9686cda3dd4bull, 0x5de5e64efd965432ull,
    0xb99d7ed15d9d8743ull, 0xc3450e196da80e3aull, 0x4c2d9f413df695b1ull, 0x36f5ef890dc31cc8ull,
    0x79a59ba2c5dc31ccull, 0x037deb6af5e9b8b5ull, 0x8c157a32a5b7233eull, 0xf6cd0afa9582aa47ull,
    0x4ad64994d625e4daull, 0x300e395ce6106da3ull, 0xbf66a804b64ef628ull, 0xc5bed8cc867b7f51ull,
    0x8aeeace74e645255ull, 0xf036dc2f7e51db2cull, 0x7f5e4d772e0f40a7ull, 0x05863dbf1e3ac9deull,
    0xe1fea520be311aafull, 0x9b26d5e88e0493d6ull, 0x144e44b0de5a085dull, 0x6e963478ee6f8124ull,
    0x21c640532670ac20ull, 0x5b1e309b16452559ull, 0xd476a1c3461bbed2ull, 0xaeaed10b762e37abull,
    0x37deb6af5e9b8b5bull, 0x4d06c6676eae0222ull, 0xc26e573f3ef099a9ull, 0xb8b627f70ec510d0ull,
    0xf7e653dcc6da3dd4ull, 0x8d3e2314f6efb4adull, 0x0256b24ca6b12f26ull, 0x788ec2849684a65full,
    0x9cf65a1b368f752eull, 0xe62e2ad306bafc57ull, 0x6946bb8b56e467dcull, 0x139ecb4366d1eea5ull,
    0x5ccebf68aecec3a1ull, 0x2616cfa09efb4ad8ull, 0xa97e5ef8cea5d153ull, 0xd3a62e30fe90582aull,
    0xb0c7b7e3c7593bd8ull, 0xca1fc72bf76cb2a1ull, 0x45775673a732292aull, 0x3faf26bb9707a053ull,
    0x70ff52905f188d57ull, 0x0a2722586f2d042eull, 0x854fb3003f739fa5ull, 0xff97c3c80f4616dcull,
    0x1bef5b57af4dc5adull, 0x61372b9f9f784cd4ull, 0xee5fbac7cf26d75full, 0x9487ca0fff135e26ull,
    0xdbd7be24370c7322ull, 0xa10fceec0739fa5bull, 0x2e675fb4576761d0ull, 0x54bf2f7c6752e8a9ull,
    0xcdcf48d84fe75459ull, 0xb71738107fd2dd20ull, 0x387fa9482f8c46abull, 0x42a7d9801fb9cfd2ull,
    0x0df7adabd7a6e2d6ull, 0x772fdd63e7936bafull, 0xf8474c3bb7cdf024ull, 0x829f3cf387f8795dull,
    0x66e7a46c27f3aa2cull, 0x1c3fd4a417c62355ull, 0x935745fc4798b8deull, 0xe98f353477ad31a7ull,
    0xa6df411fbfb21ca3ull, 0xdc0731d78f8795daull, 0x536fa08fdfd90e51ull, 0x29b7d047efec8728ull,
};

uint64_t rdb_crc64(uint64_t crc, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        crc = crc64_table[(crc ^ b[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}

/* ---------------------------------------------------------------------- */
/* Writing                                                                 */
/* ---------------------------------------------------------------------- */

static void put_le_at(unsigned char *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static dstr put_le(dstr out, uint64_t v, int n)
{
    unsigned char b[8];
    for (int i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return dstr_cat(out, b, (size_t)n);
}

static dstr put_u8(dstr out, unsigned v)
{
    unsigned char b = (unsigned char)v;
    return dstr_cat(out, &b, 1);
}

dstr rdb_write_len(dstr out, uint64_t len)
{
    unsigned char b[9];
    size_t n;
    if (len < (1u << 6)) {
        b[0] = (unsigned char)len;
        n = 1;
    } else if (len < (1u << 14)) {
        b[0] = (unsigned char)((RDB_14BITLEN << 6) | (len >> 8));
        b[1] = (unsigned char)len;
        n = 2;
    } else if (len <= UINT32_MAX) {
        b[0] = RDB_32BITLEN;
        for (int i = 0; i < 4; i++)
            b[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        n = 5;
    } else {
        b[0] = RDB_64BITLEN;
        for (int i = 0; i < 8; i++)
            b[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 9;
    }
    return dstr_cat(out, b, n);
}

/* An integer in the smallest special encoding that holds it; 0 (nothing
 * written) when it needs more than 32 bits. */
static int put_int_enc(dstr *out, long long v)
{
    int enc, n;
    if (v >= INT8_MIN && v <= INT8_MAX) {
        enc = RDB_ENC_INT8;
        n = 1;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        enc = RDB_ENC_INT16;
        n = 2;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        enc = RDB_ENC_INT32;
        n = 4;
    } else {
        return 0;
    }
    *out = put_u8(*out, (RDB_ENCVAL << 6) | (unsigned)enc);
    *out = put_le(*out, (uint64_t)v, n);
    return 1;
}

/* LZF-compressed, as Redis does for strings over 20 bytes, when that
 * saves more than 4 bytes; 0 (nothing written) otherwise. */
static int put_lzf(dstr *out, const char *p, size_t len)
{
    if (len <= 4 || len > UINT32_MAX) return 0;
    size_t outlen = len - 4;
    char *buf = cm_malloc(outlen);
    unsigned clen = lzf_compress(p, (unsigned)len, buf, (unsigned)outlen);
    if (clen) {
        *out = put_u8(*out, (RDB_ENCVAL << 6) | RDB_ENC_LZF);
        *out = rdb_write_len(*out, clen);
        *out = rdb_write_len(*out, len);
        *out = dstr_cat(*out, buf, clen);
    }
    cm_free(buf);
    return clen != 0;
}

dstr rdb_write_string(dstr out, const char *p, size_t len, int compress)
{
    long long v;
    if (len <= 11 && str_to_ll(p, len, &v) && put_int_enc(&out, v)) return out;
    if (compress && len > 20 && put_lzf(&out, p, len)) return out;
    out = rdb_write_len(out, len);
    return dstr_cat(out, p, len);
}

static dstr write_ll(dstr out, long long v)
{
    if (put_int_enc(&out, v)) return out;
    char buf[NUM_STR_MAX];
    int n = ll_to_str(buf, sizeof(buf), v);
    out = rdb_write_len(out, (uint64_t)n);
    return dstr_cat(out, buf, (size_t)n);
}

dstr rdb_write_listpack(dstr out, const unsigned char *lp, int compress)
{
    size_t bytes = lp_bytes(lp), rbytes = bytes - (CLP_HDR - RLP_HDR);
    unsigned long n = lp_length(lp);
    dstr blob = dstr_with_cap(rbytes);
    blob = put_le(blob, rbytes, 4);
    blob = put_le(blob, n < RLP_COUNT_UNKN ? n : RLP_COUNT_UNKN, 2);
    blob = dstr_cat(blob, lp + CLP_HDR, bytes - CLP_HDR);
    out = rdb_write_string(out, blob, rbytes, compress);
    dstr_free(blob);
    return out;
}

static dstr write_list(dstr out, const cobj *o, int compress)
{
    out = put_u8(out, RDB_TYPE_LIST_QUICKLIST_2);
    if (o->encoding == ENC_LISTPACK) {
        out = rdb_write_len(out, 1);
        out = rdb_write_len(out, QL_CONTAINER_PACKED);
        return rdb_write_listpack(out, o->v.ptr, compress);
    }
    const quicklist *ql = o->v.ptr;
    out = rdb_write_len(out, ql->len);
    for (const ql_node *n = ql->head; n; n = n->next) {
        out = rdb_write_len(out, QL_CONTAINER_PACKED);
        out = rdb_write_listpack(out, n->lp, compress);
    }
    return out;
}

static dstr write_set(dstr out, const cobj *o, int compress)
{
    if (o->encoding == ENC_INTSET) {
        out = put_u8(out, RDB_TYPE_SET_INTSET);
        return rdb_write_string(out, o->v.ptr, intset_bytes(o->v.ptr), compress);
    }
    /* Redis 7.0 has no listpack sets: both other encodings go as members. */
    out = put_u8(out, RDB_TYPE_SET);
    out = rdb_write_len(out, set_size(o));
    set_iter it;
    const char *p;
    size_t len;
    char buf[NUM_STR_MAX];
    set_iter_start(&it, (cobj *)o);
    while (set_iter_next(&it, &p, &len, buf))
        out = rdb_write_string(out, p, len, compress);
    set_iter_end(&it);
    return out;
}

static dstr write_hash(dstr out, const cobj *o, int compress)
{
    if (o->encoding == ENC_LISTPACK) {
        out = put_u8(out, RDB_TYPE_HASH_LISTPACK);
        return rdb_write_listpack(out, o->v.ptr, compress);
    }
    htab *h = o->v.ptr;
    out = put_u8(out, RDB_TYPE_HASH);
    out = rdb_write_len(out, htab_size(h));
    htab_iter it;
    hpair *pr;
    htab_iter_start(&it, h);
    while ((pr = htab_iter_next(&it)) != NULL) {
        cslice f = hpair_field(pr), v = hpair_value(pr);
        out = rdb_write_string(out, f.ptr, f.len, compress);
        out = rdb_write_string(out, v.ptr, v.len, compress);
    }
    htab_iter_end(&it);
    return out;
}

static dstr write_zset(dstr out, const cobj *o, int compress)
{
    if (o->encoding == ENC_LISTPACK) {
        out = put_u8(out, RDB_TYPE_ZSET_LISTPACK);
        return rdb_write_listpack(out, o->v.ptr, compress);
    }
    const zset *zs = o->v.ptr;
    out = put_u8(out, RDB_TYPE_ZSET_2);
    out = rdb_write_len(out, zs->zsl->length);
    /* Highest score first, as Redis writes them (its loader then inserts
     * at the head of the skiplist). */
    for (zsl_node *n = zsl_last(zs->zsl); n; n = zsl_prev(n)) {
        out = rdb_write_string(out, zsl_node_ele(n), zsl_node_len(n), compress);
        uint64_t bits;
        memcpy(&bits, &n->score, sizeof(bits));
        out = put_le(out, bits, 8);
    }
    return out;
}

dstr rdb_write_object(dstr out, const cobj *o, int compress)
{
    switch (o->type) {
    case OBJ_STRING:
        out = put_u8(out, RDB_TYPE_STRING);
        if (o->encoding == ENC_INT) return write_ll(out, o->v.ll);
        char buf[NUM_STR_MAX];
        size_t len;
        const char *p = obj_str(o, buf, &len);
        return rdb_write_string(out, p, len, compress);
    case OBJ_LIST: return write_list(out, o, compress);
    case OBJ_SET: return write_set(out, o, compress);
    case OBJ_HASH: return write_hash(out, o, compress);
    case OBJ_ZSET: return write_zset(out, o, compress);
    case OBJ_STREAM:
        out = put_u8(out, RDB_TYPE_STREAM_LISTPACKS_2);
        return rdb_write_stream(out, o->v.ptr, compress);
    default: return out; /* no other type is ever stored */
    }
}

dstr rdb_dump_payload(const cobj *o, int compress)
{
    dstr out = rdb_write_object(dstr_with_cap(64), o, compress);
    out = put_le(out, RDB_VERSION, 2);
    return put_le(out, rdb_crc64(0, out, dstr_len(out)), 8);
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int rdb_payload_ok(const char *p, size_t len)
{
    if (len < 10) return 0;
    const unsigned char *footer = (const unsigned char *)p + len - 10;
    if (get_le(footer, 2) > RDB_VERSION) return 0;
    return rdb_crc64(0, p, len - 8) == get_le(footer + 2, 8);
}

/* ---------------------------------------------------------------------- */
/* Reading: primitives                                                     */
/* ---------------------------------------------------------------------- */

static int fail(rdb_reader *r, const char *why)
{
    r->err = why;
    return 0;
}

static cobj *fail_obj(rdb_reader *r, const char *why)
{
    r->err = why;
    return NULL;
}

int rdb_read_bytes(rdb_reader *r, size_t n, const unsigned char **out)
{
    if ((size_t)(r->end - r->p) < n) return fail(r, "unexpected end of data");
    *out = r->p;
    r->p += n;
    return 1;
}

int rdb_read_u8(rdb_reader *r, unsigned *v)
{
    const unsigned char *b;
    if (!rdb_read_bytes(r, 1, &b)) return 0;
    *v = b[0];
    return 1;
}

int rdb_read_len(rdb_reader *r, uint64_t *len, int *encoded)
{
    unsigned b;
    const unsigned char *x;
    if (encoded) *encoded = 0;
    if (!rdb_read_u8(r, &b)) return 0;
    switch (b >> 6) {
    case RDB_6BITLEN: *len = b & 0x3F; return 1;
    case RDB_14BITLEN:
        if (!rdb_read_bytes(r, 1, &x)) return 0;
        *len = (uint64_t)(b & 0x3F) << 8 | x[0];
        return 1;
    case RDB_ENCVAL:
        if (!encoded) return fail(r, "unexpected string encoding");
        *encoded = 1;
        *len = b & 0x3F;
        return 1;
    default: break;
    }
    int n = b == RDB_32BITLEN ? 4 : b == RDB_64BITLEN ? 8 : 0;
    if (!n) return fail(r, "unknown length encoding");
    if (!rdb_read_bytes(r, (size_t)n, &x)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | x[i];
    *len = v;
    return 1;
}

/* A plain length that must also fit the bytes left: a collection's count
 * can never exceed them, so nothing is sized by a lie. */
int rdb_read_count(rdb_reader *r, uint64_t *n)
{
    if (!rdb_read_len(r, n, NULL)) return 0;
    if (*n > (uint64_t)(r->end - r->p)) return fail(r, "count larger than the data");
    return 1;
}

static int read_lzf(rdb_reader *r, cslice *out, dstr *scratch)
{
    uint64_t clen, len;
    const unsigned char *c;
    if (!rdb_read_len(r, &clen, NULL) || !rdb_read_len(r, &len, NULL)) return 0;
    if (!rdb_read_bytes(r, clen, &c)) return 0;
    /* LZF expands at most about 100 times: a larger claim is a lie that
     * must not decide an allocation. */
    if (len == 0 || len > UINT32_MAX || clen > UINT32_MAX || len > clen * 100 + 64)
        return fail(r, "bad compressed string length");
    if (!*scratch) *scratch = dstr_with_cap(len);
    dstr_set_len(*scratch, 0);
    *scratch = dstr_reserve_exact(*scratch, len);
    if (lzf_decompress(c, (unsigned)clen, *scratch, (unsigned)len) != len)
        return fail(r, "bad compressed string");
    dstr_set_len(*scratch, len);
    *out = (cslice){*scratch, len};
    return 1;
}

static int read_int_string(rdb_reader *r, int enc, cslice *out, dstr *scratch)
{
    int n = enc == RDB_ENC_INT8 ? 1 : enc == RDB_ENC_INT16 ? 2 : 4;
    const unsigned char *b;
    if (!rdb_read_bytes(r, (size_t)n, &b)) return 0;
    uint64_t u = get_le(b, n);
    long long v = n == 1 ? (int8_t)u : n == 2 ? (int16_t)u : (int32_t)u;
    char buf[NUM_STR_MAX];
    int len = ll_to_str(buf, sizeof(buf), v);
    if (!*scratch) *scratch = dstr_with_cap(NUM_STR_MAX);
    dstr_set_len(*scratch, 0);
    *scratch = dstr_cat(*scratch, buf, (size_t)len);
    *out = (cslice){*scratch, (size_t)len};
    return 1;
}

int rdb_read_string(rdb_reader *r, cslice *out, dstr *scratch)
{
    uint64_t len;
    int encoded;
    if (!rdb_read_len(r, &len, &encoded)) return 0;
    if (encoded) {
        if (len <= RDB_ENC_INT32) return read_int_string(r, (int)len, out, scratch);
        if (len == RDB_ENC_LZF) return read_lzf(r, out, scratch);
        return fail(r, "unknown string encoding");
    }
    if (len > DSTR_MAX_LEN) return fail(r, "string too long");
    const unsigned char *b;
    if (!rdb_read_bytes(r, len, &b)) return 0;
    *out = (cslice){(const char *)b, len};
    return 1;
}

int rdb_skip_string(rdb_reader *r)
{
    uint64_t len, clen;
    int encoded;
    const unsigned char *b;
    if (!rdb_read_len(r, &len, &encoded)) return 0;
    if (!encoded) return rdb_read_bytes(r, len, &b);
    if (len <= RDB_ENC_INT32) return rdb_read_bytes(r, len == 0 ? 1 : len == 1 ? 2 : 4, &b);
    if (len != RDB_ENC_LZF) return fail(r, "unknown string encoding");
    if (!rdb_read_len(r, &clen, NULL) || !rdb_read_len(r, &len, NULL)) return 0;
    return rdb_read_bytes(r, clen, &b);
}

/* ---------------------------------------------------------------------- */
/* Reading: elements                                                       */
/* ---------------------------------------------------------------------- */

/* The elements of a collection as read, owned, before the value is built;
 * for sorted sets, the score of each member alongside. */
typedef struct elems {
    cslice *v;
    size_t n, cap;
    double *score;
    size_t ns, scap;
} elems;

static void elems_push(elems *e, const char *p, size_t len)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 16;
        e->v = cm_realloc(e->v, e->cap * sizeof(*e->v));
    }
    char *copy = cm_malloc(len + 1);
    memcpy(copy, p, len);
    e->v[e->n++] = (cslice){copy, len};
}

static void elems_push_score(elems *e, double d)
{
    if (e->ns == e->scap) {
        e->scap = e->scap ? e->scap * 2 : 16;
        e->score = cm_realloc(e->score, e->scap * sizeof(*e->score));
    }
    e->score[e->ns++] = d;
}

static void elems_free(elems *e)
{
    for (size_t i = 0; i < e->n; i++)
        cm_free((void *)e->v[i].ptr);
    cm_free(e->v);
    cm_free(e->score);
}

static void push_int(elems *e, long long v)
{
    char buf[NUM_STR_MAX];
    int n = ll_to_str(buf, sizeof(buf), v);
    elems_push(e, buf, (size_t)n);
}

unsigned char *rdb_listpack_from(rdb_reader *r, cslice blob)
{
    const unsigned char *b = (const unsigned char *)blob.ptr;
    if (blob.len < RLP_HDR + 1 || blob.len > UINT32_MAX - 2 || get_le(b, 4) != blob.len) {
        fail(r, "malformed listpack");
        return NULL;
    }
    size_t bytes = blob.len + CLP_HDR - RLP_HDR;
    unsigned char *lp = cm_malloc(bytes);
    memcpy(lp + CLP_HDR, b + RLP_HDR, blob.len - RLP_HDR);
    put_le_at(lp, bytes, 4);
    put_le_at(lp + 4, 0, 4);
    long n = lp_validate_entries(lp, bytes);
    uint64_t count = get_le(b + 4, 2);
    if (n < 0 || (count != RLP_COUNT_UNKN && count != (uint64_t)n)) {
        cm_free(lp);
        fail(r, "malformed listpack");
        return NULL;
    }
    put_le_at(lp + 4, (uint64_t)n, 4);
    return lp;
}

/* The entries of a Redis listpack. */
static int lp_elems(rdb_reader *r, cslice blob, elems *e)
{
    unsigned char *lp = rdb_listpack_from(r, blob);
    if (!lp) return 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) {
        lp_value v;
        lp_get(p, &v);
        if (v.str)
            elems_push(e, (const char *)v.str, v.len);
        else
            push_int(e, v.ll);
    }
    cm_free(lp);
    return 1;
}

/* A ziplist entry's integer of n bytes (little-endian, sign-extended). */
static long long zl_int(const unsigned char *p, size_t n)
{
    uint64_t u = get_le(p, (int)n);
    unsigned shift = (unsigned)(64 - 8 * n);
    return (long long)(u << shift) >> shift;
}

/* Decode one ziplist entry's encoding at q (avail bytes): its header and
 * data size, and whether it is an integer (then *imm is set for the
 * 4-bit immediates).  0 when malformed. */
static int zl_encoding(const unsigned char *q, size_t avail, size_t *hdr, size_t *dlen, int *isint,
                       long long *imm)
{
    unsigned enc = q[0];
    *isint = 0;
    *hdr = 1;
    switch (enc >> 6) {
    case 0: *dlen = enc & 0x3F; return 1;
    case 1:
        if (avail < 2) return 0;
        *hdr = 2;
        *dlen = (size_t)(enc & 0x3F) << 8 | q[1];
        return 1;
    case 2:
        if (avail < 5) return 0;
        *hdr = 5;
        *dlen = (size_t)q[1] << 24 | (size_t)q[2] << 16 | (size_t)q[3] << 8 | q[4];
        return 1;
    default: break;
    }
    *isint = 1;
    *dlen = 0;
    switch (enc) {
    case 0xC0: *dlen = 2; return 1;
    case 0xD0: *dlen = 4; return 1;
    case 0xE0: *dlen = 8; return 1;
    case 0xF0: *dlen = 3; return 1;
    case 0xFE: *dlen = 1; return 1;
    default: break;
    }
    if (enc < 0xF1 || enc > 0xFD) return 0;
    *imm = (long long)(enc & 0x0F) - 1;
    return 1;
}

/* The entries of a ziplist (RDB 6-9):
 *   <bytes u32> <tail u32> <count u16> <entry>... <0xFF>
 * where an entry is <prevlen: 1 byte, or 0xFE and 4 bytes> <encoding>
 * <data>.  Every prevlen must be the previous entry's size. */
static int zl_elems(rdb_reader *r, cslice blob, elems *e)
{
    const unsigned char *zl = (const unsigned char *)blob.ptr;
    size_t len = blob.len;
    if (len < 11 || get_le(zl, 4) != len || zl[len - 1] != 0xFF)
        return fail(r, "malformed ziplist");
    const unsigned char *p = zl + 10, *end = zl + len - 1;
    size_t n = 0, prev = 0;
    while (p < end) {
        size_t avail = (size_t)(end - p), plsize = p[0] < 254 ? 1 : 5;
        if (p[0] == 255 || plsize >= avail) return fail(r, "malformed ziplist");
        size_t pl = plsize == 1 ? p[0] : get_le(p + 1, 4);
        if (pl != prev) return fail(r, "malformed ziplist");
        const unsigned char *q = p + plsize;
        size_t hdr, dlen, qavail = avail - plsize;
        int isint;
        long long v = 0;
        if (!zl_encoding(q, qavail, &hdr, &dlen, &isint, &v) || dlen > qavail - hdr)
            return fail(r, "malformed ziplist");
        if (!isint)
            elems_push(e, (const char *)q + hdr, dlen);
        else
            push_int(e, dlen ? zl_int(q + hdr, dlen) : v);
        prev = plsize + hdr + dlen;
        p += prev;
        n++;
    }
    uint64_t count = get_le(zl + 8, 2);
    if (count != 0xFFFF && count != n) return fail(r, "malformed ziplist");
    return 1;
}

/* A zipmap length: 1 byte below 254, else 254 and 4 bytes. */
static int zm_len(const unsigned char **p, const unsigned char *end, size_t *len)
{
    if (*p >= end || **p == 255) return 0;
    if (**p < 254) {
        *len = *(*p)++;
        return 1;
    }
    if (end - *p < 5) return 0;
    *len = get_le(*p + 1, 4);
    *p += 5;
    return 1;
}

/* The fields and values of a zipmap (hashes before RDB 4, still loaded):
 *   <count u8> (<len> <field> <len> <free u8> <value> <free bytes>)... <0xFF> */
static int zm_elems(rdb_reader *r, cslice blob, elems *e)
{
    const unsigned char *zm = (const unsigned char *)blob.ptr;
    if (blob.len < 2 || zm[blob.len - 1] != 0xFF) return fail(r, "malformed zipmap");
    const unsigned char *p = zm + 1, *end = zm + blob.len - 1;
    while (p < end) {
        size_t klen, vlen;
        if (!zm_len(&p, end, &klen) || klen > (size_t)(end - p)) return fail(r, "malformed zipmap");
        const unsigned char *k = p;
        p += klen;
        if (!zm_len(&p, end, &vlen) || p >= end) return fail(r, "malformed zipmap");
        size_t freeb = *p++;
        if (vlen > (size_t)(end - p) || freeb > (size_t)(end - p) - vlen)
            return fail(r, "malformed zipmap");
        elems_push(e, (const char *)k, klen);
        elems_push(e, (const char *)p, vlen);
        p += vlen + freeb;
    }
    return 1;
}

static int is_elems(rdb_reader *r, cslice blob, elems *e)
{
    /* Copied first: the blob in the input may not be aligned. */
    intset *is = cm_memdup(blob.ptr, blob.len);
    int ok = intset_validate(is, blob.len);
    for (uint32_t i = 0; ok && i < intset_len(is); i++)
        push_int(e, intset_get(is, i));
    cm_free(is);
    return ok ? 1 : fail(r, "malformed intset");
}

typedef int blob_fn(rdb_reader *r, cslice blob, elems *e);

static int read_blob(rdb_reader *r, elems *e, blob_fn *fn)
{
    cslice blob;
    dstr scratch = NULL;
    int ok = rdb_read_string(r, &blob, &scratch) && fn(r, blob, e);
    dstr_free(scratch);
    return ok;
}

/* n strings (n elements, or n pairs when per is 2). */
static int read_strings(rdb_reader *r, elems *e, unsigned per)
{
    uint64_t n;
    if (!rdb_read_count(r, &n)) return 0;
    dstr scratch = NULL;
    int ok = 1;
    for (uint64_t i = 0; ok && i < n * per; i++) {
        cslice s;
        ok = rdb_read_string(r, &s, &scratch);
        if (ok) elems_push(e, s.ptr, s.len);
    }
    dstr_free(scratch);
    return ok;
}

/* A score as RDB_TYPE_ZSET wrote it: a length byte and text, or 253 NaN,
 * 254 +inf, 255 -inf. */
static int read_text_double(rdb_reader *r, double *d)
{
    unsigned len;
    const unsigned char *b;
    if (!rdb_read_u8(r, &len)) return 0;
    if (len == 253) return fail(r, "NaN score");
    if (len >= 254) {
        *d = len == 254 ? INFINITY : -INFINITY;
        return 1;
    }
    if (!rdb_read_bytes(r, len, &b)) return 0;
    if (!str_to_double((const char *)b, len, d)) return fail(r, "bad score");
    return 1;
}

static int read_scored(rdb_reader *r, elems *e, int binary)
{
    uint64_t n;
    if (!rdb_read_count(r, &n)) return 0;
    dstr scratch = NULL;
    int ok = 1;
    for (uint64_t i = 0; ok && i < n; i++) {
        cslice s;
        double d;
        const unsigned char *b;
        ok = rdb_read_string(r, &s, &scratch);
        if (!ok) break;
        elems_push(e, s.ptr, s.len);
        if (binary) {
            ok = rdb_read_bytes(r, 8, &b);
            if (ok) {
                uint64_t bits = get_le(b, 8);
                memcpy(&d, &bits, sizeof(d));
            }
        } else {
            ok = read_text_double(r, &d);
        }
        if (ok) elems_push_score(e, d);
    }
    dstr_free(scratch);
    return ok;
}

static int read_strings_one(rdb_reader *r, elems *e)
{
    cslice s;
    dstr scratch = NULL;
    int ok = rdb_read_string(r, &s, &scratch);
    if (ok) elems_push(e, s.ptr, s.len);
    dstr_free(scratch);
    return ok;
}

/* The nodes of a quicklist: ziplists (RDB_TYPE_LIST_QUICKLIST), or a
 * container and then a listpack or a single element (..._QUICKLIST_2). */
static int read_quicklist(rdb_reader *r, elems *e, int v2)
{
    uint64_t nodes;
    if (!rdb_read_count(r, &nodes)) return 0;
    for (uint64_t i = 0; i < nodes; i++) {
        uint64_t container = QL_CONTAINER_PACKED;
        if (v2 && !rdb_read_len(r, &container, NULL)) return 0;
        if (container == QL_CONTAINER_PLAIN) {
            if (!read_strings_one(r, e)) return 0;
        } else if (container == QL_CONTAINER_PACKED) {
            if (!read_blob(r, e, v2 ? lp_elems : zl_elems)) return 0;
        } else {
            return fail(r, "bad quicklist container");
        }
    }
    return 1;
}

/* ---------------------------------------------------------------------- */
/* Reading: building values                                                */
/* ---------------------------------------------------------------------- */

/* Members and text scores in pairs (listpack and ziplist sorted sets)
 * into members with their scores. */
static int split_scores(rdb_reader *r, elems *e)
{
    if (e->n % 2) return fail(r, "odd sorted set listpack");
    elems m = {0};
    int ok = 1;
    for (size_t i = 0; ok && i < e->n; i += 2) {
        double d;
        ok = str_to_double(e->v[i + 1].ptr, e->v[i + 1].len, &d);
        if (!ok) break;
        elems_push(&m, e->v[i].ptr, e->v[i].len);
        elems_push_score(&m, d);
    }
    elems_free(e);
    *e = m;
    return ok ? 1 : fail(r, "bad score");
}

static cobj *build_zset(rdb_reader *r, cmd_call *c, elems *e)
{
    size_t maxlen = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (isnan(e->score[i])) return fail_obj(r, "NaN score");
        if (e->v[i].len > maxlen) maxlen = e->v[i].len;
    }
    cobj *o = zset_create(c, e->n, maxlen);
    for (size_t i = 0; i < e->n; i++) {
        int out = 0;
        zset_add(c, o, e->score[i], e->v[i].ptr, e->v[i].len, ZADD_IN_NX, &out, NULL);
        if (!(out & ZADD_OUT_ADDED)) {
            obj_free(o);
            return fail_obj(r, "repeated sorted set member");
        }
    }
    return o;
}

static cobj *build(rdb_reader *r, cmd_call *c, int family, elems *e)
{
    if (e->n == 0) return fail_obj(r, "empty value");
    cobj *o = NULL;
    switch (family) {
    case OBJ_LIST: return list_obj_from(c, e->v, (long)e->n);
    case OBJ_SET:
        o = set_obj_from(c, e->v, (long)e->n);
        if (!o) fail(r, "repeated set member");
        return o;
    case OBJ_HASH:
        if (e->n % 2) return fail_obj(r, "odd hash");
        o = hash_obj_from(c, e->v, (long)e->n / 2);
        if (!o) fail(r, "repeated hash field");
        return o;
    default: return build_zset(r, c, e);
    }
}

int rdb_is_object_type(int t)
{
    return (t >= RDB_TYPE_STRING && t <= RDB_TYPE_ZSET_2) ||
           (t >= RDB_TYPE_HASH_ZIPMAP && t <= RDB_TYPE_STREAM_LISTPACKS_2);
}

/* Read the elements of a value of type t; *family is its object type. */
static int read_elems(rdb_reader *r, int t, elems *e, int *family)
{
    switch (t) {
    case RDB_TYPE_LIST: *family = OBJ_LIST; return read_strings(r, e, 1);
    case RDB_TYPE_LIST_ZIPLIST: *family = OBJ_LIST; return read_blob(r, e, zl_elems);
    case RDB_TYPE_LIST_QUICKLIST: *family = OBJ_LIST; return read_quicklist(r, e, 0);
    case RDB_TYPE_LIST_QUICKLIST_2: *family = OBJ_LIST; return read_quicklist(r, e, 1);
    case RDB_TYPE_SET: *family = OBJ_SET; return read_strings(r, e, 1);
    case RDB_TYPE_SET_INTSET: *family = OBJ_SET; return read_blob(r, e, is_elems);
    case RDB_TYPE_HASH: *family = OBJ_HASH; return read_strings(r, e, 2);
    case RDB_TYPE_HASH_ZIPMAP: *family = OBJ_HASH; return read_blob(r, e, zm_elems);
    case RDB_TYPE_HASH_ZIPLIST: *family = OBJ_HASH; return read_blob(r, e, zl_elems);
    case RDB_TYPE_HASH_LISTPACK: *family = OBJ_HASH; return read_blob(r, e, lp_elems);
    case RDB_TYPE_ZSET: *family = OBJ_ZSET; return read_scored(r, e, 0);
    case RDB_TYPE_ZSET_2: *family = OBJ_ZSET; return read_scored(r, e, 1);
    case RDB_TYPE_ZSET_ZIPLIST:
        *family = OBJ_ZSET;
        return read_blob(r, e, zl_elems) && split_scores(r, e);
    case RDB_TYPE_ZSET_LISTPACK:
        *family = OBJ_ZSET;
        return read_blob(r, e, lp_elems) && split_scores(r, e);
    case RDB_TYPE_MODULE:
    case RDB_TYPE_MODULE_2: return fail(r, "module values are not supported");
    default: return fail(r, "unknown value type");
    }
}

cobj *rdb_read_object(rdb_reader *r, cmd_call *c, int t)
{
    if (t == RDB_TYPE_STRING) {
        cslice s;
        dstr scratch = NULL;
        cobj *o = rdb_read_string(r, &s, &scratch) ? obj_new_string_try_int(s.ptr, s.len) : NULL;
        dstr_free(scratch);
        return o;
    }
    if (t == RDB_TYPE_STREAM_LISTPACKS || t == RDB_TYPE_STREAM_LISTPACKS_2)
        return rdb_read_stream(r, t == RDB_TYPE_STREAM_LISTPACKS_2);
    elems e = {0};
    int family = 0;
    cobj *o = read_elems(r, t, &e, &family) ? build(r, c, family, &e) : NULL;
    elems_free(&e);
    return o;
}
