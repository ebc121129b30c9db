/* qpack-encode: encodes header sections with nghttp3's QPACK encoder.
   argv: dynamic table capacity, max blocked streams.
   stdin: "H <stream>" starts a section, "<name>\t<value>" lines add
   fields, "." ends it; "A <stream>" acknowledges a section.
   stdout: "E <hex>" encoder stream bytes, "S <stream> <hex>" a field
   section, "D <hex>" decoder stream bytes fed back to the encoder. */
#include <nghttp3/nghttp3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const char *tag, const uint8_t *a, const uint8_t *b, const uint8_t *c, const uint8_t *d) {
  fputs(tag, stdout);
  for (; a < b; a++) printf("%02x", *a);
  for (; c < d; c++) printf("%02x", *c);
  putchar('\n');
}

int main(int argc, char **argv) {
  const nghttp3_mem *mem = nghttp3_mem_default();
  nghttp3_qpack_encoder *enc;
  size_t cap = argc > 1 ? strtoul(argv[1], 0, 10) : 4096;
  if (nghttp3_qpack_encoder_new(&enc, cap, mem) != 0) return 1;
  nghttp3_qpack_encoder_set_max_dtable_capacity(enc, cap);
  nghttp3_qpack_encoder_set_max_blocked_streams(enc, argc > 2 ? strtoul(argv[2], 0, 10) : 16);
  char line[8192];
  nghttp3_nv nva[64];
  size_t n = 0;
  long long sid = 0;
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (line[0] == 'H' && line[1] == ' ') {
      sid = atoll(line + 2);
      n = 0;
    } else if (line[0] == 'A' && line[1] == ' ') {
      uint8_t ins[16];
      long long s = atoll(line + 2);
      size_t k = 0;
      /* Section Acknowledgment, 7-bit prefix integer. */
      if (s < 127) ins[k++] = 0x80 | (uint8_t)s;
      else { ins[k++] = 0xff; s -= 127; while (s >= 128) { ins[k++] = (uint8_t)(s % 128 + 128); s /= 128; } ins[k++] = (uint8_t)s; }
      if (nghttp3_qpack_encoder_read_decoder(enc, ins, k) < 0) return 3;
      hex("D ", ins, ins + k, 0, 0);
    } else if (strcmp(line, ".") == 0) {
      nghttp3_buf p, r, e;
      nghttp3_buf_init(&p); nghttp3_buf_init(&r); nghttp3_buf_init(&e);
      if (nghttp3_qpack_encoder_encode(enc, &p, &r, &e, sid, nva, n) != 0) return 2;
      if (e.last > e.pos) hex("E ", e.pos, e.last, 0, 0);
      printf("S %lld ", sid);
      hex("", p.pos, p.last, r.pos, r.last);
      nghttp3_buf_free(&p, mem); nghttp3_buf_free(&r, mem); nghttp3_buf_free(&e, mem);
      for (size_t i = 0; i < n; i++) free(nva[i].name);
      n = 0;
    } else if (n < 64) {
      char *tab = strchr(line, '\t');
      if (!tab) continue;
      char *name = strdup(line);
      size_t nl = (size_t)(tab - line);
      nva[n].name = (uint8_t *)name;
      nva[n].namelen = nl;
      nva[n].value = (uint8_t *)name + nl + 1;
      nva[n].valuelen = strlen(tab + 1);
      nva[n].flags = NGHTTP3_NV_FLAG_NONE;
      n++;
    }
  }
  fflush(stdout);
  nghttp3_qpack_encoder_del(enc);
  return 0;
}
