/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-attachment.c: files made ready to attach, from real files written
 * into a temporary directory: images drawn and saved by gdk-pixbuf (and
 * GIFs written byte by byte, which it cannot save), PDFs drawn by cairo,
 * and the bad ones a person meets: damaged, gone, a folder, unreadable,
 * too large, not text. Each refusal is checked by its code and its whole
 * message, which names the file. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>

#include "rill-attachment.h"
#include "rill-store-private.h"
#include "rill-test-support.h"

static char *tmpdir;

static char *
path_for (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

static void
write_file (const char *name,
            const void *data,
            gsize       len)
{
  g_autofree char *path = path_for (name);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
}

static GBytes *
read_file (const char *name)
{
  g_autofree char *path = path_for (name);
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize len = 0;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

/* A picture with detail, so JPEG and PNG have something to encode. */
static GdkPixbuf *
make_pixbuf (int      width,
             int      height,
             gboolean alpha)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  int channels = gdk_pixbuf_get_n_channels (pixbuf);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = pixels + y * stride + x * channels;

        p[0] = x * 255 / width;
        p[1] = y * 255 / height;
        p[2] = (x ^ y) & 0xff;
        if (alpha)
          p[3] = 200;
      }
  return pixbuf;
}

static void
save_pixbuf (GdkPixbuf  *pixbuf,
             const char *name,
             const char *type)
{
  g_autofree char *path = path_for (name);
  g_autoptr(GError) error = NULL;

  gdk_pixbuf_save (pixbuf, path, type, &error, NULL);
  g_assert_no_error (error);
}

static RillAttachment *
load_with (const char                 *name,
           const RillAttachmentLimits *limits,
           GError                    **error)
{
  g_autofree char *path = path_for (name);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GAsyncResult) result = NULL;

  rill_attachment_load_async (file, limits, NULL, test_async_result_cb, &result);
  test_wait_result (&result, 60000, "the attachment loaded");
  return rill_attachment_load_finish (result, error);
}

static RillAttachment *
load (const char *name)
{
  g_autoptr(GError) error = NULL;
  RillAttachment *attachment = load_with (name, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (attachment);
  return attachment;
}

static void
assert_refused (const char                 *name,
                const RillAttachmentLimits *limits,
                RillAttachmentError         code,
                const char                 *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = load_with (name, limits, &error);

  g_assert_null (attachment);
  g_assert_error (error, RILL_ATTACHMENT_ERROR, (int) code);
  g_assert_cmpstr (error->message, ==, message);
}

static void
assert_bytes_equal (GBytes *a,
                    GBytes *b)
{
  g_assert_cmpmem (g_bytes_get_data (a, NULL), g_bytes_get_size (a),
                   g_bytes_get_data (b, NULL), g_bytes_get_size (b));
}

static GdkPixbuf *
decode_bytes (GBytes *bytes)
{
  g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  g_autoptr(GError) error = NULL;

  gdk_pixbuf_loader_write_bytes (loader, bytes, &error);
  g_assert_no_error (error);
  gdk_pixbuf_loader_close (loader, &error);
  g_assert_no_error (error);
  return g_object_ref (gdk_pixbuf_loader_get_pixbuf (loader));
}

/* A small PNG goes as the very bytes of the file. */
static void
test_small_png (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (64, 48, TRUE);
  g_autoptr(RillAttachment) attachment = NULL;
  g_autoptr(GBytes) file_bytes = NULL;
  g_autoptr(GdkPixbuf) thumbnail = NULL;
  g_autofree char *file_sha = NULL;

  /* The extension lies: the content decides. */
  save_pixbuf (pixbuf, "small.jpg", "png");
  file_bytes = read_file ("small.jpg");
  file_sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, file_bytes);

  attachment = load ("small.jpg");
  g_assert_cmpint (rill_attachment_get_kind (attachment), ==, RILL_ATTACHMENT_KIND_IMAGE);
  g_assert_cmpstr (rill_attachment_get_name (attachment), ==, "small.jpg");
  g_assert_cmpstr (rill_attachment_get_mime_type (attachment), ==, "image/png");
  g_assert_cmpstr (rill_attachment_get_sha256 (attachment), ==, file_sha);
  assert_bytes_equal (rill_attachment_get_bytes (attachment), file_bytes);
  g_assert_cmpuint (rill_attachment_get_size (attachment), ==, g_bytes_get_size (file_bytes));
  g_assert_false (rill_attachment_get_scaled (attachment));
  g_assert_cmpuint (rill_attachment_get_width (attachment), ==, 64);
  g_assert_cmpuint (rill_attachment_get_height (attachment), ==, 48);
  g_assert_null (rill_attachment_format_as_context (attachment));
  thumbnail = decode_bytes (rill_attachment_get_thumbnail (attachment));
  g_assert_cmpint (gdk_pixbuf_get_width (thumbnail), ==, 64);
}

/* A 12 MP photo is decoded small and encoded once, as a JPEG of 2,048 px. */
static void
test_large_jpeg (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (4000, 3000, FALSE);
  g_autoptr(RillAttachment) attachment = NULL;
  g_autoptr(GdkPixbuf) sent = NULL;
  g_autoptr(GdkPixbuf) thumbnail = NULL;
  g_autoptr(GBytes) file_bytes = NULL;
  g_autofree char *sha = NULL;

  save_pixbuf (pixbuf, "photo.jpeg", "jpeg");
  file_bytes = read_file ("photo.jpeg");
  attachment = load ("photo.jpeg");
  g_assert_true (rill_attachment_get_scaled (attachment));
  g_assert_cmpuint (rill_attachment_get_original_width (attachment), ==, 4000);
  g_assert_cmpuint (rill_attachment_get_original_height (attachment), ==, 3000);
  g_assert_cmpuint (rill_attachment_get_width (attachment), ==, 2048);
  g_assert_cmpuint (rill_attachment_get_height (attachment), ==, 1536);
  g_assert_cmpuint (rill_attachment_get_original_size (attachment), ==,
                    g_bytes_get_size (file_bytes));
  g_assert_cmpstr (rill_attachment_get_mime_type (attachment), ==, "image/jpeg");
  sent = decode_bytes (rill_attachment_get_bytes (attachment));
  g_assert_cmpint (gdk_pixbuf_get_width (sent), ==, 2048);
  g_assert_cmpint (gdk_pixbuf_get_height (sent), ==, 1536);
  sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, rill_attachment_get_bytes (attachment));
  g_assert_cmpstr (rill_attachment_get_sha256 (attachment), ==, sha);
  thumbnail = decode_bytes (rill_attachment_get_thumbnail (attachment));
  g_assert_cmpint (gdk_pixbuf_get_width (thumbnail), ==, 128);
  g_assert_cmpint (gdk_pixbuf_get_height (thumbnail), ==, 96);
}

/* Within the side but over the byte limit: re-encoded (smaller if need
 * be) until it fits. With transparency it stays a PNG. */
static void
test_heavy_png (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (600, 400, TRUE);
  g_autoptr(RillAttachment) attachment = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) sent = NULL;
  RillAttachmentLimits limits;

  /* Noise, which no encoder shrinks much. */
  for (guint i = 0; i < (guint) gdk_pixbuf_get_byte_length (pixbuf); i++)
    gdk_pixbuf_get_pixels (pixbuf)[i] = g_test_rand_int_range (0, 256);
  save_pixbuf (pixbuf, "noise.png", "png");
  rill_attachment_limits_init (&limits);
  limits.max_image_bytes = 200 * 1024;

  attachment = load_with ("noise.png", &limits, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rill_attachment_get_mime_type (attachment), ==, "image/png");
  g_assert_cmpuint (rill_attachment_get_size (attachment), <=, limits.max_image_bytes);
  g_assert_true (rill_attachment_get_scaled (attachment));
  g_assert_cmpuint (rill_attachment_get_width (attachment), <, 600);
  sent = decode_bytes (rill_attachment_get_bytes (attachment));
  g_assert_cmpuint (gdk_pixbuf_get_width (sent), ==, rill_attachment_get_width (attachment));
  g_assert_true (gdk_pixbuf_get_has_alpha (sent));
}

/* A GIF of one frame goes as it is; an animated one sends its first frame,
 * as PNG. gdk-pixbuf cannot write GIFs, so these are written by hand. */
#define GIF_HEADER "GIF89a\x02\x00\x01\x00\x80\x00\x00" "\x00\x00\x00\xff\xff\xff"
#define GIF_FRAME  "!\xf9\x04\x00\x0a\x00\x00\x00" ",\x00\x00\x00\x00\x02\x00\x01\x00\x00" \
  "\x02\x02\x44\x01\x00"
#define GIF_LOOP   "!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"

static void
test_gif (void)
{
  static const char still[] = GIF_HEADER GIF_FRAME ";";
  static const char animated[] = GIF_HEADER GIF_LOOP GIF_FRAME GIF_FRAME ";";
  g_autoptr(RillAttachment) one = NULL;
  g_autoptr(RillAttachment) two = NULL;
  g_autoptr(GBytes) still_bytes = g_bytes_new_static (still, sizeof still - 1);

  write_file ("still.gif", still, sizeof still - 1);
  write_file ("animated.gif", animated, sizeof animated - 1);

  one = load ("still.gif");
  g_assert_cmpstr (rill_attachment_get_mime_type (one), ==, "image/gif");
  assert_bytes_equal (rill_attachment_get_bytes (one), still_bytes);
  g_assert_false (rill_attachment_get_first_frame_only (one));
  g_assert_cmpuint (rill_attachment_get_width (one), ==, 2);

  two = load ("animated.gif");
  g_assert_true (rill_attachment_get_first_frame_only (two));
  g_assert_cmpstr (rill_attachment_get_mime_type (two), ==, "image/png");
  g_assert_cmpuint (rill_attachment_get_width (two), ==, 2);
  g_assert_cmpuint (rill_attachment_get_height (two), ==, 1);
}

/* A header that claims 10,000 × 10,000 pixels is refused before 400 MB of
 * pixels are allocated. */
static void
test_too_many_pixels (void)
{
  static const char huge[] =
    "GIF89a\x10\x27\x10\x27\x80\x00\x00" "\x00\x00\x00\xff\xff\xff"
    ",\x00\x00\x00\x00\x10\x27\x10\x27\x00" "\x02\x02\x44\x01\x00" ";";

  write_file ("huge.gif", huge, sizeof huge - 1);
  assert_refused ("huge.gif", NULL, RILL_ATTACHMENT_ERROR_TOO_LARGE,
                  "huge.gif is 10000 × 10000 pixels; images up to 64 megapixels can be attached");
}

static void
test_webp (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (40, 30, FALSE);
  g_autofree char *path = path_for ("picture.webp");
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = NULL;
  g_autoptr(GBytes) file_bytes = NULL;

  if (!gdk_pixbuf_save (pixbuf, path, "webp", &error, NULL))
    {
      g_test_skip_printf ("this system's gdk-pixbuf cannot write WebP (Debian: "
                          "webp-pixbuf-loader): %s", error->message);
      return;
    }
  file_bytes = read_file ("picture.webp");
  attachment = load ("picture.webp");
  g_assert_cmpstr (rill_attachment_get_mime_type (attachment), ==, "image/webp");
  assert_bytes_equal (rill_attachment_get_bytes (attachment), file_bytes);
  g_assert_cmpuint (rill_attachment_get_width (attachment), ==, 40);
}

static void
test_corrupt_png (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (300, 200, FALSE);
  g_autoptr(GBytes) whole = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = NULL;

  save_pixbuf (pixbuf, "whole.png", "png");
  whole = read_file ("whole.png");
  /* Cut in the middle of its pixels. */
  write_file ("damaged.png", g_bytes_get_data (whole, NULL), g_bytes_get_size (whole) / 2);

  assert_refused ("damaged.png", NULL, RILL_ATTACHMENT_ERROR_CORRUPT,
                  "damaged.png is a damaged image: the file is cut short");

  /* Whole, but with its pixels overwritten: the decoder finds it. */
  {
    g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (whole, NULL), g_bytes_get_size (whole));

    memset (bad + g_bytes_get_size (whole) / 2, 0x55, 64);
    write_file ("garbled.png", bad, g_bytes_get_size (whole));
    attachment = load_with ("garbled.png", NULL, &error);
    g_assert_null (attachment);
    g_assert_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_CORRUPT);
    g_assert_true (g_str_has_prefix (error->message, "garbled.png is a damaged image: "));
  }
}

/* Cut short, a JPEG and a GIF are refused too. */
static void
test_truncated (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (300, 200, FALSE);
  g_autoptr(GBytes) whole = NULL;
  static const char animated[] = GIF_HEADER GIF_LOOP GIF_FRAME GIF_FRAME ";";
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = NULL;

  save_pixbuf (pixbuf, "whole.jpg", "jpeg");
  whole = read_file ("whole.jpg");
  write_file ("cut.jpg", g_bytes_get_data (whole, NULL), g_bytes_get_size (whole) - 100);
  assert_refused ("cut.jpg", NULL, RILL_ATTACHMENT_ERROR_CORRUPT,
                  "cut.jpg is a damaged image: the file is cut short");

  write_file ("cut.gif", animated, sizeof animated - 8);
  attachment = load_with ("cut.gif", NULL, &error);
  g_assert_null (attachment);
  g_assert_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, "cut.gif is a damaged image: "));
}

static void
test_folder (void)
{
  g_autofree char *path = path_for ("Photos");

  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  assert_refused ("Photos", NULL, RILL_ATTACHMENT_ERROR_NOT_REGULAR,
                  "Photos is a folder: only files can be attached");
}

static void
test_vanished (void)
{
  write_file ("gone.txt", "here a moment ago", 17);
  {
    g_autofree char *path = path_for ("gone.txt");

    g_assert_cmpint (g_unlink (path), ==, 0);
  }
  assert_refused ("gone.txt", NULL, RILL_ATTACHMENT_ERROR_NOT_FOUND,
                  "gone.txt could not be found: it was moved or deleted");
}

/* As root, the test reads as nobody for a moment: root reads a file of
 * mode 000 anyway. (Set for the process, so the loader's threads too.) */
static void
test_unreadable (void)
{
  g_autofree char *path = path_for ("secret.txt");
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = NULL;
  gboolean as_nobody = geteuid () == 0;

  write_file ("secret.txt", "no peeking", 10);
  g_assert_cmpint (g_chmod (path, 0), ==, 0);
  if (as_nobody)
    {
      g_assert_cmpint (g_chmod (tmpdir, 0711), ==, 0);
      if (seteuid (65534) != 0)
        {
          g_test_skip_printf ("running as root, which reads a file of mode 000, and cannot "
                              "become nobody: %s", g_strerror (errno));
          return;
        }
    }
  attachment = load_with ("secret.txt", NULL, &error);
  if (as_nobody)
    {
      g_assert_cmpint (seteuid (0), ==, 0);
      g_assert_cmpint (g_chmod (tmpdir, 0700), ==, 0);
    }
  g_assert_null (attachment);
  g_assert_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_UNREADABLE);
  g_assert_cmpstr (error->message, ==, "secret.txt could not be read: permission denied");
}

/* A 2 GiB file (sparse: no disk used) is refused from its size: reading it
 * would take seconds, and this answers at once. */
static void
test_huge_file (void)
{
  g_autofree char *path = path_for ("disk.img");
  gint64 start;
  int fd;

  fd = g_open (path, O_WRONLY | O_CREAT, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, G_GINT64_CONSTANT (2) * 1024 * 1024 * 1024), ==, 0);
  close (fd);

  start = g_get_monotonic_time ();
  assert_refused ("disk.img", NULL, RILL_ATTACHMENT_ERROR_TOO_LARGE,
                  "disk.img is 2.0\u00a0GiB; files up to 100.0\u00a0MiB can be attached");
  /* Reading 2 GiB, even of holes, takes far longer than this. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC / 2);
}

static void
test_large_text (void)
{
  g_autofree char *text = g_strnfill (600 * 1024, 'a');
  g_autofree char *path = path_for ("notes.txt");
  RillAttachmentLimits limits;

  write_file ("notes.txt", text, 600 * 1024);
  assert_refused ("notes.txt", NULL, RILL_ATTACHMENT_ERROR_TOO_LARGE,
                  "notes.txt is 600.0\u00a0KiB; the limit for text files is 512.0\u00a0KiB");

  /* The limit is the caller's. */
  rill_attachment_limits_init (&limits);
  limits.max_text_bytes = 1024 * 1024;
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(RillAttachment) attachment = load_with ("notes.txt", &limits, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (strlen (rill_attachment_get_text (attachment)), ==, 600 * 1024);
  }
}

static void
test_text (void)
{
  static const char source[] = "# 你好\nprint(\"héllo\")\n";
  g_autoptr(RillAttachment) attachment = NULL;
  g_autofree char *context = NULL;

  write_file ("hello.py", source, strlen (source));
  attachment = load ("hello.py");
  g_assert_cmpint (rill_attachment_get_kind (attachment), ==, RILL_ATTACHMENT_KIND_TEXT);
  g_assert_cmpstr (rill_attachment_get_text (attachment), ==, source);
  g_assert_cmpstr (rill_attachment_get_language (attachment), ==, "python");
  g_assert_cmpstr (rill_attachment_get_mime_type (attachment), ==, "text/x-python");
  g_assert_null (rill_attachment_get_thumbnail (attachment));
  context = rill_attachment_format_as_context (attachment);
  g_assert_cmpstr (context, ==, "File: hello.py\n```python\n# 你好\nprint(\"héllo\")\n```\n");

  g_assert_cmpstr (rill_attachment_language_for_name ("README.md"), ==, "markdown");
  g_assert_cmpstr (rill_attachment_language_for_name ("Makefile"), ==, "makefile");
  g_assert_cmpstr (rill_attachment_language_for_name ("data.CSV"), ==, "csv");
  g_assert_cmpstr (rill_attachment_language_for_name ("server.log"), ==, "log");
  g_assert_cmpstr (rill_attachment_language_for_name ("LICENSE"), ==, "");
  g_assert_cmpstr (rill_attachment_language_for_name (".bashrc"), ==, "");
}

/* A file holding a fence cannot close the block it is sent in. */
static void
test_text_with_fences (void)
{
  static const char markdown[] = "Some code:\n```c\nint x;\n```\nand `````five````` ticks";
  g_autoptr(RillAttachment) attachment = NULL;
  g_autofree char *context = NULL;

  write_file ("guide.md", markdown, strlen (markdown));
  attachment = load ("guide.md");
  context = rill_attachment_format_as_context (attachment);
  g_assert_cmpstr (context, ==,
                   "File: guide.md\n``````markdown\n"
                   "Some code:\n```c\nint x;\n```\nand `````five````` ticks\n"
                   "``````\n");
}

/* A byte-order mark is left out of the text, and kept in the bytes. */
static void
test_text_bom (void)
{
  static const char csv[] = "\xef\xbb\xbfname,age\nAda,36\n";
  g_autoptr(RillAttachment) attachment = NULL;
  g_autoptr(GBytes) expected = g_bytes_new_static (csv, sizeof csv - 1);

  write_file ("people.csv", csv, sizeof csv - 1);
  attachment = load ("people.csv");
  g_assert_cmpstr (rill_attachment_get_text (attachment), ==, "name,age\nAda,36\n");
  g_assert_cmpstr (rill_attachment_get_mime_type (attachment), ==, "text/csv");
  assert_bytes_equal (rill_attachment_get_bytes (attachment), expected);
}

static void
test_not_text (void)
{
  static const guint8 binary[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0 };

  write_file ("program", binary, sizeof binary);
  assert_refused ("program", NULL, RILL_ATTACHMENT_ERROR_UNSUPPORTED,
                  "program (executable) cannot be attached: only images, PDFs and text files "
                  "can");
  /* Latin-1 is not UTF-8. */
  write_file ("old.txt", "caf\xe9", 4);
  assert_refused ("old.txt", NULL, RILL_ATTACHMENT_ERROR_UNSUPPORTED,
                  "old.txt is not UTF-8 text: text files can be attached in UTF-8 only");
  /* So is UTF-16, for all its NULs. */
  write_file ("wide.txt", "\xff\xfeh\0i\0", 6);
  assert_refused ("wide.txt", NULL, RILL_ATTACHMENT_ERROR_UNSUPPORTED,
                  "wide.txt is not UTF-8 text: text files can be attached in UTF-8 only");
  write_file ("empty.md", "", 0);
  assert_refused ("empty.md", NULL, RILL_ATTACHMENT_ERROR_EMPTY, "empty.md is empty");
}

/* Two pages of text, and one with only a drawing. */
static void
write_pdf (const char *name,
           gboolean    with_text)
{
  g_autofree char *path = path_for (name);
  cairo_surface_t *surface = cairo_pdf_surface_create (path, 595, 842);
  cairo_t *cr = cairo_create (surface);

  if (with_text)
    {
      cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                              CAIRO_FONT_WEIGHT_NORMAL);
      cairo_set_font_size (cr, 14);
      cairo_move_to (cr, 72, 72);
      cairo_show_text (cr, "The first page says hello.");
      cairo_show_page (cr);
      cairo_move_to (cr, 72, 72);
      cairo_show_text (cr, "The second page says goodbye.");
    }
  else
    {
      cairo_rectangle (cr, 72, 72, 200, 100);
      cairo_fill (cr);
    }
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy (surface);
}

static void
test_pdf (void)
{
  g_autoptr(RillAttachment) attachment = NULL;
  g_autoptr(GBytes) file_bytes = NULL;
  g_autofree char *context = NULL;

  write_pdf ("letter.pdf", TRUE);
  file_bytes = read_file ("letter.pdf");
  attachment = load ("letter.pdf");
  g_assert_cmpint (rill_attachment_get_kind (attachment), ==, RILL_ATTACHMENT_KIND_PDF);
  g_assert_cmpstr (rill_attachment_get_mime_type (attachment), ==, "application/pdf");
  g_assert_cmpuint (rill_attachment_get_n_pages (attachment), ==, 2);
  g_assert_cmpstr (rill_attachment_get_text (attachment), ==,
                   "The first page says hello.\n\nThe second page says goodbye.");
  assert_bytes_equal (rill_attachment_get_bytes (attachment), file_bytes);
  context = rill_attachment_format_as_context (attachment);
  g_assert_cmpstr (context, ==,
                   "File: letter.pdf (the text of a PDF)\n```\n"
                   "The first page says hello.\n\nThe second page says goodbye.\n```\n");
}

static void
test_pdf_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = NULL;

  write_pdf ("scan.pdf", FALSE);
  assert_refused ("scan.pdf", NULL, RILL_ATTACHMENT_ERROR_NO_TEXT,
                  "scan.pdf has no text layer (a scanned document?): there is no text to send");

  write_file ("broken.pdf", "%PDF-1.7\nnot really\n", 20);
  attachment = load_with ("broken.pdf", NULL, &error);
  g_assert_null (attachment);
  g_assert_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, "broken.pdf is a damaged PDF: "));
}

/* An image from the clipboard has bytes and a name, and no file. */
static void
test_bytes (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (20, 10, TRUE);
  g_autofree char *buffer = NULL;
  gsize len = 0;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = NULL;

  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &len, "png", NULL, NULL));
  bytes = g_bytes_new (buffer, len);
  rill_attachment_load_bytes_async (bytes, "Pasted image.png", NULL, NULL,
                                    test_async_result_cb, &result);
  test_wait_result (&result, 30000, "the pasted image loaded");
  attachment = rill_attachment_load_bytes_finish (result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rill_attachment_get_name (attachment), ==, "Pasted image.png");
  assert_bytes_equal (rill_attachment_get_bytes (attachment), bytes);
}

static void
test_cancel (void)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (16, 16, FALSE);
  g_autofree char *path = path_for ("cancelled.png");
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RillAttachment) attachment = NULL;

  save_pixbuf (pixbuf, "cancelled.png", "png");
  rill_attachment_load_async (file, NULL, cancellable, test_async_result_cb, &result);
  g_cancellable_cancel (cancellable);
  test_wait_result (&result, 30000, "the cancelled load returned");
  attachment = rill_attachment_load_finish (result, &error);
  g_assert_null (attachment);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* Search by attachment: messages stored with files, as a reply stores them
 * (one transaction with the message), in a real SQLite file. A message is
 * found by a file's name and by the text of a text file or a PDF, with
 * terms of three characters and more (the trigram index) and of one or
 * two (LIKE); never in a conversation in the trash. */

static void
begin_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  TestResult *r = data;
  RillReplyContext *context = _rill_store_begin_reply_finish (RILL_STORE (source), result,
                                                              &r->error);

  g_clear_pointer (&context, rill_reply_context_free);
  r->done = TRUE;
}

/* Stores @text with a file called @name holding @file_text (an image's
 * bytes when @file_text is NULL) in @conversation_id; returns its id. */
static gint64
store_message (RillStore  *store,
               gint64      conversation_id,
               const char *text,
               const char *name,
               const char *file_text)
{
  g_autoptr(GPtrArray) attachments =
    g_ptr_array_new_with_free_func ((GDestroyNotify) rill_stored_attachment_free);
  g_autoptr(GBytes) data = NULL;
  RillReplyRows *rows = g_atomic_rc_box_new0 (RillReplyRows);
  TestResult r = { 0 };
  gint64 id;

  data = file_text ? g_bytes_new (file_text, strlen (file_text))
                   : g_bytes_new_static ("\x89PNG\r\n\x1a\n", 8);
  g_ptr_array_add (attachments,
                   rill_stored_attachment_new (name, file_text ? "text/plain" : "image/png", data,
                                               file_text));
  rows->conversation_id = conversation_id;
  _rill_store_begin_reply_full_async (store, rows, text, attachments, NULL, 0, 0, begin_cb, &r);
  test_wait_for (&r.done, 10000, "the message stored");
  g_assert_no_error (r.error);
  id = rows->user_message_id;
  g_atomic_rc_box_release (rows);
  g_assert_cmpint (id, >, 0);
  return id;
}

/* The ids of the messages @query finds, newest first, as "1,5". */
static char *
found (RillStore  *store,
       const char *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = rill_store_search (store, query, 50, &error);
  GString *ids = g_string_new (NULL);

  g_assert_no_error (error);
  for (guint i = 0; i < messages->len; i++)
    g_string_append_printf (ids, "%s%" G_GINT64_FORMAT, i ? "," : "",
                            rill_message_get_id (g_ptr_array_index (messages, i)));
  return g_string_free (ids, FALSE);
}

static void
trash_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  test_write_cb (source, result, data);
}

static void
test_search (void)
{
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  RillStore *store = test_store_open (path);
  gint64 kept = test_create_conversation (store, "kept");
  gint64 binned = test_create_conversation (store, "binned");
  gint64 photo, notes, report, old;
  TestResult r = { 0 };

  photo = store_message (store, kept, "Look at this", "holiday-beach.png", NULL);
  notes = store_message (store, kept, "What do you make of it?", "notes.md",
                         "Buy oat milk.\n猫は可愛い\n");
  report = store_message (store, kept, "Summarise please", "Q3.pdf",
                          "Quarterly revenue rose by 4%");
  old = store_message (store, binned, "Old one", "holiday-archive.txt", "oat milk again");
  g_assert_true (rill_store_sync (store, 10000));

  {
    g_autofree char *expected_holiday = g_strdup_printf ("%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT,
                                                         old, photo);
    g_autofree char *by_name = found (store, "holiday");

    /* Both, before the trash. */
    g_assert_cmpstr (by_name, ==, expected_holiday);
  }
  {
    g_autofree char *expected = g_strdup_printf ("%" G_GINT64_FORMAT, photo);
    g_autofree char *by_name = found (store, "BEACH.png");
    g_autofree char *expected_notes = g_strdup_printf ("%" G_GINT64_FORMAT, notes);
    g_autofree char *expected_report = g_strdup_printf ("%" G_GINT64_FORMAT, report);
    g_autofree char *by_text = NULL;
    g_autofree char *by_short = NULL;
    g_autofree char *by_cjk = NULL;
    g_autofree char *by_pdf = NULL;
    g_autofree char *by_message = NULL;
    g_autofree char *nothing = NULL;

    g_assert_cmpstr (by_name, ==, expected);

    rill_store_trash_conversation_async (store, binned, NULL, trash_cb, &r);
    test_wait_for (&r.done, 10000, "moved to the trash");
    g_assert_no_error (r.error);

    by_text = found (store, "oat milk");
    g_assert_cmpstr (by_text, ==, expected_notes);
    by_short = found (store, "Q3");
    g_assert_cmpstr (by_short, ==, expected_report);
    by_cjk = found (store, "猫");
    g_assert_cmpstr (by_cjk, ==, expected_notes);
    by_pdf = found (store, "revenue 4%");
    g_assert_cmpstr (by_pdf, ==, expected_report);
    /* The message's own words still find it, once. */
    by_message = found (store, "Summarise");
    g_assert_cmpstr (by_message, ==, expected_report);
    /* The trashed conversation's file is not found. */
    nothing = found (store, "archive");
    g_assert_cmpstr (nothing, ==, "");
  }
  test_store_close (store);
  test_rm_rf (dir);
}

/* Stores a message with @attachment (loaded from a file) in
 * @conversation_id, as the window does, with the thumbnail the loader made
 * when @with_thumbnail, or without, as an older Rill did. */
static gint64
store_image (RillStore      *store,
             gint64          conversation_id,
             RillAttachment *attachment,
             gboolean        with_thumbnail)
{
  g_autoptr(GPtrArray) attachments =
    g_ptr_array_new_with_free_func ((GDestroyNotify) rill_stored_attachment_free);
  RillReplyRows *rows = g_atomic_rc_box_new0 (RillReplyRows);
  RillStoredAttachment *stored;
  TestResult r = { 0 };
  guint width = 0, height = 0;
  GBytes *thumbnail = rill_attachment_get_stored_thumbnail (attachment, &width, &height);
  gint64 id;

  stored = rill_stored_attachment_new (rill_attachment_get_name (attachment),
                                       rill_attachment_get_mime_type (attachment),
                                       rill_attachment_get_bytes (attachment), NULL);
  if (with_thumbnail)
    {
      stored->thumbnail = g_bytes_ref (thumbnail);
      stored->thumbnail_width = width;
      stored->thumbnail_height = height;
    }
  g_ptr_array_add (attachments, stored);
  rows->conversation_id = conversation_id;
  _rill_store_begin_reply_full_async (store, rows, "Look", attachments, NULL, 0, 0, begin_cb,
                                      &r);
  test_wait_for (&r.done, 10000, "the message stored");
  g_assert_no_error (r.error);
  id = rows->user_message_id;
  g_atomic_rc_box_release (rows);
  return id;
}

/* The one attachment of @message_id as read for showing it. */
static RillStoredAttachment *
preview_of (RillStore *store,
            gint64     message_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) previews = rill_store_list_attachment_previews (store, message_id,
                                                                       &error);

  g_assert_no_error (error);
  g_assert_cmpuint (previews->len, ==, 1);
  return g_ptr_array_steal_index (previews, 0);
}

/* The thumbnail the store keeps: made by the loader, at most 192 px with
 * the ratio kept (never enlarged), a JPEG for a photo and a PNG with
 * transparency; written with the message, once per image however many
 * messages send it; read for showing without the image's bytes. */
static void
test_stored_thumbnail (void)
{
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(GdkPixbuf) photo = make_pixbuf (1600, 1000, FALSE);
  g_autoptr(GdkPixbuf) icon = make_pixbuf (64, 48, TRUE);
  g_autoptr(RillAttachment) wide = NULL;
  g_autoptr(RillAttachment) small = NULL;
  g_autoptr(GdkPixbuf) decoded = NULL;
  g_autoptr(RillStoredAttachment) first = NULL;
  g_autoptr(RillStoredAttachment) second = NULL;
  g_autofree char *row = NULL;
  g_autofree char *expected_row = NULL;
  g_autofree char *count = NULL;
  guint width = 0, height = 0;
  GBytes *thumbnail;
  RillStore *store;
  gint64 conversation, one, two;

  save_pixbuf (photo, "wide.jpeg", "jpeg");
  wide = load ("wide.jpeg");
  thumbnail = rill_attachment_get_stored_thumbnail (wide, &width, &height);
  g_assert_nonnull (thumbnail);
  g_assert_cmpuint (width, ==, 192);
  g_assert_cmpuint (height, ==, 120);
  g_assert_cmpmem (g_bytes_get_data (thumbnail, NULL), 3, "\xff\xd8\xff", 3);
  decoded = decode_bytes (thumbnail);
  g_assert_cmpint (gdk_pixbuf_get_width (decoded), ==, 192);
  g_assert_cmpint (gdk_pixbuf_get_height (decoded), ==, 120);
  g_clear_object (&decoded);

  save_pixbuf (icon, "icon.png", "png");
  small = load ("icon.png");
  thumbnail = rill_attachment_get_stored_thumbnail (small, &width, &height);
  g_assert_cmpuint (width, ==, 64);
  g_assert_cmpuint (height, ==, 48);
  g_assert_cmpmem (g_bytes_get_data (thumbnail, NULL), 4, "\x89PNG", 4);
  decoded = decode_bytes (thumbnail);
  g_assert_true (gdk_pixbuf_get_has_alpha (decoded));
  g_assert_cmpint (gdk_pixbuf_get_width (decoded), ==, 64);

  store = test_store_open (path);
  conversation = test_create_conversation (store, "photos");
  one = store_image (store, conversation, wide, TRUE);
  two = store_image (store, conversation, wide, TRUE);
  g_assert_true (rill_store_sync (store, 10000));

  /* Byte for byte what the loader made, once. */
  thumbnail = rill_attachment_get_stored_thumbnail (wide, &width, &height);
  {
    gsize len;
    const guint8 *bytes = g_bytes_get_data (thumbnail, &len);
    GString *hex = g_string_new (NULL);

    for (gsize i = 0; i < len; i++)
      g_string_append_printf (hex, "%02X", bytes[i]);
    expected_row = g_strdup_printf ("%s,192,120,%s", rill_attachment_get_sha256 (wide),
                                    hex->str);
    g_string_free (hex, TRUE);
  }
  row = test_sql_text (path, "SELECT group_concat(sha256 || ',' || width || ',' || height"
                       " || ',' || hex(data)) FROM attachment_thumbnails");
  g_assert_cmpstr (row, ==, expected_row);
  count = test_sql_text (path, "SELECT count(*) FROM attachment_thumbnails");
  g_assert_cmpstr (count, ==, "1");

  first = preview_of (store, one);
  second = preview_of (store, two);
  g_assert_null (first->data);
  g_assert_cmpstr (first->sha256, ==, rill_attachment_get_sha256 (wide));
  g_assert_cmpstr (first->name, ==, "wide.jpeg");
  g_assert_cmpint (first->size, ==, rill_attachment_get_size (wide));
  g_assert_cmpint (first->thumbnail_width, ==, 192);
  g_assert_cmpint (first->thumbnail_height, ==, 120);
  g_assert_true (g_bytes_equal (first->thumbnail, thumbnail));
  g_assert_true (g_bytes_equal (second->thumbnail, thumbnail));

  test_store_close (store);
  test_rm_rf (dir);
}

static void
saved_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  test_write_cb (source, result, data);
}

/* An image stored before schema 9 has no thumbnail; one is made from its
 * bytes (in a worker thread, by the message row) and written back, and
 * the next read has it. One made for bytes erased meanwhile is dropped. */
static void
test_late_thumbnail (void)
{
  g_autofree char *dir = test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "history.db", NULL);
  g_autoptr(GdkPixbuf) tall = make_pixbuf (300, 900, FALSE);
  g_autoptr(RillAttachment) attachment = NULL;
  g_autoptr(RillStoredAttachment) before = NULL;
  g_autoptr(RillStoredAttachment) after = NULL;
  g_autoptr(GPtrArray) full = NULL;
  g_autoptr(GBytes) made = NULL;
  g_autoptr(GBytes) orphan = NULL;
  g_autoptr(GBytes) text = NULL;
  g_autoptr(GdkPixbuf) decoded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *count = NULL;
  guint width = 0, height = 0;
  TestResult r = { 0 };
  RillStore *store;
  gint64 message;

  save_pixbuf (tall, "tall.png", "png");
  attachment = load ("tall.png");
  store = test_store_open (path);
  message = store_image (store, test_create_conversation (store, "old"), attachment, FALSE);
  g_assert_true (rill_store_sync (store, 10000));

  before = preview_of (store, message);
  g_assert_null (before->thumbnail);
  g_assert_null (before->data);

  /* What the row does: the full bytes, this once. */
  full = rill_store_list_attachments (store, message, &error);
  g_assert_no_error (error);
  made = rill_attachment_make_stored_thumbnail (((RillStoredAttachment *) full->pdata[0])->data,
                                                NULL, &width, &height, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (width, ==, 64);
  g_assert_cmpuint (height, ==, 192);
  decoded = decode_bytes (made);
  g_assert_cmpint (gdk_pixbuf_get_width (decoded), ==, 64);
  g_assert_cmpint (gdk_pixbuf_get_height (decoded), ==, 192);
  rill_store_save_thumbnail_async (store, before->sha256, width, height, made, NULL, saved_cb,
                                   &r);
  test_wait_for (&r.done, 10000, "the thumbnail stored");
  g_assert_no_error (r.error);

  after = preview_of (store, message);
  g_assert_nonnull (after->thumbnail);
  g_assert_true (g_bytes_equal (after->thumbnail, made));
  g_assert_cmpint (after->thumbnail_width, ==, 64);
  g_assert_cmpint (after->thumbnail_height, ==, 192);

  /* Not an image: nothing made. */
  text = g_bytes_new_static ("just text", 9);
  orphan = rill_attachment_make_stored_thumbnail (text, NULL, &width, &height, &error);
  g_assert_null (orphan);
  g_assert_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  /* For bytes no longer there: dropped. */
  r.done = FALSE;
  rill_store_save_thumbnail_async (store, "0000", 1, 1, made, NULL, saved_cb, &r);
  test_wait_for (&r.done, 10000, "the thumbnail refused");
  g_assert_no_error (r.error);
  count = test_sql_text (path, "SELECT count(*) FROM attachment_thumbnails");
  g_assert_cmpstr (count, ==, "1");

  test_store_close (store);
  test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  /* The messages checked are the untranslated ones. */
  g_setenv ("LANGUAGE", "C", TRUE);
  tmpdir = test_make_tmpdir ();

  g_test_add_func ("/attachment/small-png", test_small_png);
  g_test_add_func ("/attachment/large-jpeg", test_large_jpeg);
  g_test_add_func ("/attachment/heavy-png", test_heavy_png);
  g_test_add_func ("/attachment/gif", test_gif);
  g_test_add_func ("/attachment/too-many-pixels", test_too_many_pixels);
  g_test_add_func ("/attachment/webp", test_webp);
  g_test_add_func ("/attachment/corrupt-png", test_corrupt_png);
  g_test_add_func ("/attachment/truncated", test_truncated);
  g_test_add_func ("/attachment/folder", test_folder);
  g_test_add_func ("/attachment/vanished", test_vanished);
  g_test_add_func ("/attachment/unreadable", test_unreadable);
  g_test_add_func ("/attachment/huge-file", test_huge_file);
  g_test_add_func ("/attachment/large-text", test_large_text);
  g_test_add_func ("/attachment/text", test_text);
  g_test_add_func ("/attachment/text-with-fences", test_text_with_fences);
  g_test_add_func ("/attachment/text-bom", test_text_bom);
  g_test_add_func ("/attachment/not-text", test_not_text);
  g_test_add_func ("/attachment/pdf", test_pdf);
  g_test_add_func ("/attachment/pdf-refused", test_pdf_refused);
  g_test_add_func ("/attachment/bytes", test_bytes);
  g_test_add_func ("/attachment/cancel", test_cancel);
  g_test_add_func ("/attachment/search", test_search);
  g_test_add_func ("/attachment/stored-thumbnail", test_stored_thumbnail);
  g_test_add_func ("/attachment/late-thumbnail", test_late_thumbnail);

  status = g_test_run ();
  test_rm_rf (tmpdir);
  g_free (tmpdir);
  return status;
}
