/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-attachment.c
 *
 * Loading runs on a pool of two worker threads of its own, so that twenty
 * photos dropped at once decode two at a time (a 12 MP JPEG needs 48 MB of
 * pixels) instead of taking twenty of GIO's threads. A load is:
 *
 *   1. what the file is, from its metadata: a folder, a file that is gone,
 *      or one over max_file_bytes is refused here, before any read;
 *   2. its first 4 KiB, sniffed: PNG, JPEG, GIF and WebP by their magic
 *      bytes, PDF by "%PDF-", text by being UTF-8 without NUL. The
 *      extension is not believed; it only names the fence language. A text
 *      file over max_text_bytes is refused now, still from its size;
 *   3. the rest, read up to the limit (a file that grows meanwhile is
 *      refused, not cut), then decoded: an image in full, which also finds
 *      a corrupt one; a PDF page by page, stopping past the text limit.
 *
 * An image inside both limits is sent as its own bytes. A larger one is
 * decoded straight to the size it will have (JPEG decodes at a fraction
 * of its size, much faster than decoding it whole), turned upright by its
 * EXIF orientation (the new file has none), and encoded once: JPEG, or
 * PNG when it has transparency. An image whose header claims more than
 * 64 megapixels is refused before its pixels are allocated. */

#include "rill-attachment.h"

#include <math.h>
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n-lib.h>
#include <poppler.h>

#define HEAD_BYTES      4096
#define READ_CHUNK      (64 * 1024)
#define THUMBNAIL_SIDE  128
#define MAX_PIXELS      (G_GUINT64_CONSTANT (64) * 1000 * 1000)
#define JPEG_QUALITY    "90"

struct _RillAttachment
{
  GObject             parent_instance;

  RillAttachmentKind  kind;
  char               *name;
  char               *mime_type;
  GBytes             *bytes;
  char               *sha256;
  guint64             original_size;

  guint               width;
  guint               height;
  guint               original_width;
  guint               original_height;
  GBytes             *thumbnail;
  GBytes             *stored_thumbnail;
  guint               stored_thumbnail_width;
  guint               stored_thumbnail_height;
  guint               scaled : 1;
  guint               first_frame_only : 1;

  char               *text;
  const char         *language;
  guint               n_pages;
};

G_DEFINE_FINAL_TYPE (RillAttachment, rill_attachment, G_TYPE_OBJECT)

G_DEFINE_QUARK (rill-attachment-error-quark, rill_attachment_error)

typedef enum
{
  SNIFF_UNKNOWN,
  SNIFF_PNG,
  SNIFF_JPEG,
  SNIFF_GIF,
  SNIFF_WEBP,
  SNIFF_PDF,
  SNIFF_TEXT,
} Sniff;

typedef struct
{
  GFile                *file;
  GBytes               *bytes;
  char                 *name;
  RillAttachmentLimits  limits;
} LoadJob;

void
rill_attachment_limits_init (RillAttachmentLimits *limits)
{
  g_return_if_fail (limits != NULL);

  limits->max_image_side = RILL_ATTACHMENT_MAX_IMAGE_SIDE;
  limits->max_image_bytes = RILL_ATTACHMENT_MAX_IMAGE_BYTES;
  limits->max_text_bytes = RILL_ATTACHMENT_MAX_TEXT_BYTES;
  limits->max_file_bytes = RILL_ATTACHMENT_MAX_FILE_BYTES;
}

static void
load_job_free (LoadJob *job)
{
  g_clear_object (&job->file);
  g_clear_pointer (&job->bytes, g_bytes_unref);
  g_free (job->name);
  g_free (job);
}

static void
rill_attachment_finalize (GObject *object)
{
  RillAttachment *self = RILL_ATTACHMENT (object);

  g_free (self->name);
  g_free (self->mime_type);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_free (self->sha256);
  g_clear_pointer (&self->thumbnail, g_bytes_unref);
  g_clear_pointer (&self->stored_thumbnail, g_bytes_unref);
  g_free (self->text);

  G_OBJECT_CLASS (rill_attachment_parent_class)->finalize (object);
}

static void
rill_attachment_class_init (RillAttachmentClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rill_attachment_finalize;
}

static void
rill_attachment_init (RillAttachment *self)
{
  self->language = "";
}

/* Sizes in binary units, as the limits are: "512.0 KiB", not "524.3 kB". */
static char *
format_size (guint64 size)
{
  return g_format_size_full (size, G_FORMAT_SIZE_IEC_UNITS);
}

static void
set_bytes (RillAttachment *self,
           GBytes         *bytes)
{
  g_clear_pointer (&self->bytes, g_bytes_unref);
  self->bytes = g_bytes_ref (bytes);
  g_free (self->sha256);
  self->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

/* ---- Reading ---------------------------------------------------------- */

/* A GIO error while opening or reading @name, in the words of this module. */
static void
set_io_error (GError     **error,
              const char  *name,
              GError      *io_error)
{
  if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, g_error_copy (io_error));
  else if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_NOT_FOUND,
                 _("%s could not be found: it was moved or deleted"), name);
  else if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY))
    g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_NOT_REGULAR,
                 _("%s is a folder: only files can be attached"), name);
  else if (g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_UNREADABLE,
                 _("%s could not be read: permission denied"), name);
  else
    g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_UNREADABLE,
                 _("%s could not be read: %s"), name, io_error->message);
}

static gboolean
too_large (GError     **error,
           const char  *name,
           Sniff        sniff,
           guint64      size,
           guint64      limit)
{
  g_autofree char *size_text = format_size (size);
  g_autofree char *limit_text = format_size (limit);

  if (sniff == SNIFF_TEXT)
    g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_TOO_LARGE,
                 _("%s is %s; the limit for text files is %s"), name, size_text, limit_text);
  else
    g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_TOO_LARGE,
                 _("%s is %s; files up to %s can be attached"), name, size_text, limit_text);
  return FALSE;
}

static gboolean
is_utf8_text (const guint8 *data,
              gsize         len,
              gboolean      may_be_cut)
{
  const char *end = NULL;

  if (memchr (data, '\0', len) != NULL)
    return FALSE;
  if (g_utf8_validate_len ((const char *) data, len, &end))
    return TRUE;
  /* The head may end inside a character: what is left must be its start. */
  if (!may_be_cut || (const guint8 *) end < data + len - 3)
    return FALSE;
  return g_utf8_get_char_validated (end, data + len - (const guint8 *) end) == (gunichar) -2;
}

static Sniff
sniff (const guint8 *head,
       gsize         len,
       gboolean      may_be_cut)
{
  static const guint8 png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

  if (len >= sizeof png && memcmp (head, png, sizeof png) == 0)
    return SNIFF_PNG;
  if (len >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff)
    return SNIFF_JPEG;
  if (len >= 6 && (memcmp (head, "GIF87a", 6) == 0 || memcmp (head, "GIF89a", 6) == 0))
    return SNIFF_GIF;
  if (len >= 12 && memcmp (head, "RIFF", 4) == 0 && memcmp (head + 8, "WEBP", 4) == 0)
    return SNIFF_WEBP;
  /* The PDF header may follow some junk, within the first kilobyte. */
  for (gsize i = 0; i + 5 <= MIN (len, 1024); i++)
    if (memcmp (head + i, "%PDF-", 5) == 0)
      return SNIFF_PDF;
  if (is_utf8_text (head, len, may_be_cut))
    return SNIFF_TEXT;
  return SNIFF_UNKNOWN;
}

static gboolean
unsupported (GError      **error,
             const char   *name,
             const guint8 *head,
             gsize         len)
{
  g_autofree char *type = g_content_type_guess (name, head, len, NULL);
  g_autofree char *description = g_content_type_get_description (type);

  /* Text in another encoding (Latin-1, UTF-16) is text, just not UTF-8. */
  if (g_content_type_is_a (type, "text/plain"))
    g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_UNSUPPORTED,
                 _("%s is not UTF-8 text: text files can be attached in UTF-8 only"), name);
  else
    g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_UNSUPPORTED,
                 _("%s (%s) cannot be attached: only images, PDFs and text files can"),
                 name, description);
  return FALSE;
}

/* Reads the rest of @stream after what @data (taken) holds, up to @limit
 * bytes in all. */
static GBytes *
read_rest (GInputStream *stream,
           GByteArray   *data_taken,
           guint64       limit,
           Sniff         kind,
           const char   *name,
           GCancellable *cancellable,
           GError      **error)
{
  g_autoptr(GByteArray) data = data_taken;

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      gsize before = data->len;
      gsize n = 0;

      g_byte_array_set_size (data, before + READ_CHUNK);
      if (!g_input_stream_read_all (stream, data->data + before, READ_CHUNK, &n, cancellable,
                                    &local_error))
        {
          set_io_error (error, name, local_error);
          return NULL;
        }
      g_byte_array_set_size (data, before + n);
      if (data->len > limit)
        {
          too_large (error, name, kind, data->len, limit);
          return NULL;
        }
      if (n < READ_CHUNK)
        return g_byte_array_free_to_bytes (g_steal_pointer (&data));
    }
}

/* ---- Images ----------------------------------------------------------- */

static gboolean
has_loader_for (const char *mime_type)
{
  g_autoptr(GSList) formats = gdk_pixbuf_get_formats ();

  for (GSList *l = formats; l != NULL; l = l->next)
    {
      g_auto(GStrv) types = gdk_pixbuf_format_get_mime_types (l->data);

      if (g_strv_contains ((const char * const *) types, mime_type))
        return TRUE;
    }
  return FALSE;
}

static guint32
read_be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* gdk-pixbuf's incremental decoders take a PNG, JPEG or WebP cut short
 * without a word (and show grey where the rest was), so whether the file
 * is whole is checked here, from its structure: a PNG's chunks run to IEND;
 * a JPEG's last scan is followed by its end marker (neither marker can
 * occur inside the coded data, where 0xff is always followed by 0); a
 * WebP's RIFF header gives its length. A truncated GIF the decoder finds. */
static gboolean
image_is_whole (Sniff         kind,
                const guint8 *data,
                gsize         len)
{
  switch (kind)
    {
    case SNIFF_PNG:
      for (gsize off = 8; off + 12 <= len;)
        {
          guint32 chunk_len = read_be32 (data + off);

          if (memcmp (data + off + 4, "IEND", 4) == 0)
            return TRUE;
          if (chunk_len > len - off - 12)
            return FALSE;
          off += 12 + chunk_len;
        }
      return FALSE;
    case SNIFF_JPEG:
      {
        gsize last_scan = 0;

        for (gsize i = 2; i + 1 < len; i++)
          if (data[i] == 0xff && data[i + 1] == 0xda)
            last_scan = i;
        for (gsize i = last_scan; last_scan > 0 && i + 1 < len; i++)
          if (data[i] == 0xff && data[i + 1] == 0xd9)
            return TRUE;
        return FALSE;
      }
    case SNIFF_WEBP:
      return len >= 8 && (guint64) (data[4] | data[5] << 8 | data[6] << 16 |
                                    (guint32) data[7] << 24) + 8 <= len;
    case SNIFF_GIF:
    case SNIFF_UNKNOWN:
    case SNIFF_PDF:
    case SNIFF_TEXT:
    default:
      return TRUE;
    }
}

typedef struct
{
  const RillAttachmentLimits *limits;
  guint                       width;
  guint                       height;
  guint                       target_width;
  guint                       target_height;
  gboolean                    too_many_pixels;
} SizeState;

/* @width × @height fitted into @side, the ratio kept, never below 1. */
static void
fit_into (guint  width,
          guint  height,
          guint  side,
          guint *out_width,
          guint *out_height)
{
  double scale = (double) side / MAX (width, height);

  *out_width = MAX (1, (guint) (width * scale + 0.5));
  *out_height = MAX (1, (guint) (height * scale + 0.5));
}

static void
size_prepared_cb (GdkPixbufLoader *loader,
                  int              width,
                  int              height,
                  SizeState       *state)
{
  state->width = width;
  state->height = height;
  state->target_width = width;
  state->target_height = height;
  if ((guint64) width * height > MAX_PIXELS)
    {
      /* A size of 0 makes the decoders stop before allocating the pixels. */
      state->too_many_pixels = TRUE;
      gdk_pixbuf_loader_set_size (loader, 0, 0);
      return;
    }
  if ((guint) MAX (width, height) > state->limits->max_image_side)
    {
      fit_into (width, height, state->limits->max_image_side,
                &state->target_width, &state->target_height);
      gdk_pixbuf_loader_set_size (loader, state->target_width, state->target_height);
    }
}

/* The image's pixels, decoded at the size they will be sent at. */
static GdkPixbufAnimation *
decode (GBytes                     *bytes,
        const char                 *mime_type,
        const char                 *name,
        const RillAttachmentLimits *limits,
        SizeState                  *state,
        GCancellable               *cancellable,
        GError                    **error)
{
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  gboolean ok;

  loader = gdk_pixbuf_loader_new_with_mime_type (mime_type, &local_error);
  if (loader == NULL)
    {
      g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_NO_LOADER,
                   _("%s is an image this system cannot read (%s)"), name, mime_type);
      return NULL;
    }
  state->limits = limits;
  g_signal_connect (loader, "size-prepared", G_CALLBACK (size_prepared_cb), state);

  /* In pieces, so that a refusal from the header stops the work. */
  ok = TRUE;
  for (gsize off = 0; ok && off < len && !state->too_many_pixels; off += READ_CHUNK)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          gdk_pixbuf_loader_close (loader, NULL);
          return NULL;
        }
      ok = gdk_pixbuf_loader_write (loader, data + off, MIN (READ_CHUNK, len - off),
                                    &local_error);
    }
  ok = gdk_pixbuf_loader_close (loader, ok ? &local_error : NULL) && ok;

  if (state->too_many_pixels)
    {
      g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_TOO_LARGE,
                   _("%s is %u × %u pixels; images up to %u megapixels can be attached"),
                   name, state->width, state->height, (guint) (MAX_PIXELS / 1000000));
      return NULL;
    }
  if (!ok || gdk_pixbuf_loader_get_pixbuf (loader) == NULL)
    {
      g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_CORRUPT,
                   _("%s is a damaged image: %s"), name,
                   local_error ? local_error->message : _("it has no pixels"));
      return NULL;
    }
  return g_object_ref (gdk_pixbuf_loader_get_animation (loader));
}

static GBytes *
encode (GdkPixbuf   *pixbuf,
        const char **mime_type,
        GError     **error)
{
  g_autofree char *buffer = NULL;
  gsize len = 0;
  gboolean ok;

  if (gdk_pixbuf_get_has_alpha (pixbuf))
    {
      ok = gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &len, "png", error, NULL);
      *mime_type = "image/png";
    }
  else
    {
      ok = gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &len, "jpeg", error,
                                      "quality", JPEG_QUALITY, NULL);
      *mime_type = "image/jpeg";
    }
  if (!ok)
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&buffer), len);
}

static GBytes *
make_thumbnail (GdkPixbuf *pixbuf)
{
  g_autoptr(GdkPixbuf) small = NULL;
  g_autofree char *buffer = NULL;
  gsize len = 0;
  guint width = gdk_pixbuf_get_width (pixbuf);
  guint height = gdk_pixbuf_get_height (pixbuf);

  if (MAX (width, height) > THUMBNAIL_SIDE)
    {
      fit_into (width, height, THUMBNAIL_SIDE, &width, &height);
      small = gdk_pixbuf_scale_simple (pixbuf, width, height, GDK_INTERP_BILINEAR);
    }
  else
    small = g_object_ref (pixbuf);
  if (!gdk_pixbuf_save_to_buffer (small, &buffer, &len, "png", NULL, NULL))
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&buffer), len);
}

/* The thumbnail the store keeps (schema 9): at most
 * RILL_STORED_THUMBNAIL_SIDE pixels, never enlarged; JPEG when the image
 * has no alpha channel (a photo's PNG would be five times larger), else
 * PNG. */
static GBytes *
make_stored_thumbnail (GdkPixbuf *pixbuf,
                       guint     *width,
                       guint     *height)
{
  g_autoptr(GdkPixbuf) small = NULL;
  g_autofree char *buffer = NULL;
  gsize len = 0;
  gboolean ok;

  *width = gdk_pixbuf_get_width (pixbuf);
  *height = gdk_pixbuf_get_height (pixbuf);
  if (MAX (*width, *height) > RILL_STORED_THUMBNAIL_SIDE)
    {
      fit_into (*width, *height, RILL_STORED_THUMBNAIL_SIDE, width, height);
      small = gdk_pixbuf_scale_simple (pixbuf, *width, *height, GDK_INTERP_BILINEAR);
    }
  else
    small = g_object_ref (pixbuf);
  if (gdk_pixbuf_get_has_alpha (small))
    ok = gdk_pixbuf_save_to_buffer (small, &buffer, &len, "png", NULL, NULL);
  else
    ok = gdk_pixbuf_save_to_buffer (small, &buffer, &len, "jpeg", NULL, "quality", "85", NULL);
  if (!ok)
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&buffer), len);
}

GBytes *
rill_attachment_make_stored_thumbnail (GBytes       *image,
                                       GCancellable *cancellable,
                                       guint        *width,
                                       guint        *height,
                                       GError      **error)
{
  static const char *mime_types[] = {
    [SNIFF_PNG] = "image/png", [SNIFF_JPEG] = "image/jpeg",
    [SNIFF_GIF] = "image/gif", [SNIFF_WEBP] = "image/webp",
  };
  RillAttachmentLimits limits;
  g_autoptr(GdkPixbufAnimation) animation = NULL;
  g_autoptr(GdkPixbuf) upright = NULL;
  SizeState state = { 0 };
  gsize len;
  const guint8 *data;
  Sniff kind;

  g_return_val_if_fail (image != NULL && width != NULL && height != NULL, NULL);

  data = g_bytes_get_data (image, &len);
  kind = sniff (data, MIN (len, HEAD_BYTES), len > HEAD_BYTES);
  if (kind < SNIFF_PNG || kind > SNIFF_WEBP)
    {
      g_set_error_literal (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_UNSUPPORTED,
                           "not an image");
      return NULL;
    }
  /* Decoded straight to the thumbnail's size (a JPEG at an eighth of its
   * own), which only shrinks. */
  rill_attachment_limits_init (&limits);
  limits.max_image_side = RILL_STORED_THUMBNAIL_SIDE;
  animation = decode (image, mime_types[kind], "image", &limits, &state, cancellable, error);
  if (animation == NULL)
    return NULL;
  upright = gdk_pixbuf_apply_embedded_orientation (
    gdk_pixbuf_animation_get_static_image (animation));
  return make_stored_thumbnail (upright, width, height);
}

static gboolean
load_image (RillAttachment             *self,
            GBytes                     *bytes,
            Sniff                       kind,
            const RillAttachmentLimits *limits,
            GCancellable               *cancellable,
            GError                    **error)
{
  static const char *mime_types[] = {
    [SNIFF_PNG] = "image/png", [SNIFF_JPEG] = "image/jpeg",
    [SNIFF_GIF] = "image/gif", [SNIFF_WEBP] = "image/webp",
  };
  const char *mime_type = mime_types[kind];
  g_autoptr(GdkPixbufAnimation) animation = NULL;
  g_autoptr(GdkPixbuf) upright = NULL;
  GdkPixbuf *pixels;
  SizeState state = { 0 };
  gboolean sideways;

  if (kind == SNIFF_WEBP && !has_loader_for (mime_type))
    {
      g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_NO_LOADER,
                   _("%s is a WebP image, and this system cannot read WebP images "
                     "(the WebP loader for GdkPixbuf is not installed)"), self->name);
      return FALSE;
    }
  if (!image_is_whole (kind, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)))
    {
      g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_CORRUPT,
                   _("%s is a damaged image: the file is cut short"), self->name);
      return FALSE;
    }
  animation = decode (bytes, mime_type, self->name, limits, &state, cancellable, error);
  if (animation == NULL)
    return FALSE;

  pixels = gdk_pixbuf_animation_get_static_image (animation);
  upright = gdk_pixbuf_apply_embedded_orientation (pixels);
  /* EXIF orientations 5 to 8 turn the picture a quarter. */
  sideways = gdk_pixbuf_get_width (upright) != gdk_pixbuf_get_width (pixels);
  self->kind = RILL_ATTACHMENT_KIND_IMAGE;
  self->original_width = sideways ? state.height : state.width;
  self->original_height = sideways ? state.width : state.height;
  self->first_frame_only = !gdk_pixbuf_animation_is_static_image (animation);
  self->scaled = state.target_width != state.width || state.target_height != state.height;

  if (!self->scaled && !self->first_frame_only &&
      g_bytes_get_size (bytes) <= limits->max_image_bytes)
    {
      /* Small enough: sent as the very bytes of the file. */
      self->mime_type = g_strdup (mime_type);
      set_bytes (self, bytes);
      self->width = self->original_width;
      self->height = self->original_height;
      self->thumbnail = make_thumbnail (upright);
      self->stored_thumbnail = make_stored_thumbnail (upright, &self->stored_thumbnail_width,
                                                      &self->stored_thumbnail_height);
      return TRUE;
    }

  /* A GIF's frames ignore the size asked for: scale them here. */
  if (MAX (gdk_pixbuf_get_width (upright), gdk_pixbuf_get_height (upright)) >
      (int) limits->max_image_side)
    {
      guint w, h;
      GdkPixbuf *smaller;

      fit_into (gdk_pixbuf_get_width (upright), gdk_pixbuf_get_height (upright),
                limits->max_image_side, &w, &h);
      smaller = gdk_pixbuf_scale_simple (upright, w, h, GDK_INTERP_BILINEAR);
      g_object_unref (upright);
      upright = smaller;
      self->scaled = TRUE;
    }

  for (guint attempt = 0;; attempt++)
    {
      g_autoptr(GBytes) encoded = NULL;
      const char *encoded_type = NULL;
      guint w, h;
      GdkPixbuf *smaller;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      encoded = encode (upright, &encoded_type, error);
      if (encoded == NULL)
        return FALSE;
      if (g_bytes_get_size (encoded) <= limits->max_image_bytes || attempt == 4)
        {
          self->mime_type = g_strdup (encoded_type);
          set_bytes (self, encoded);
          break;
        }
      /* Still too heavy (noise, a huge PNG): smaller by the excess. */
      fit_into (gdk_pixbuf_get_width (upright), gdk_pixbuf_get_height (upright),
                MAX (gdk_pixbuf_get_width (upright), gdk_pixbuf_get_height (upright)) *
                sqrt ((double) limits->max_image_bytes / g_bytes_get_size (encoded)) * 0.9,
                &w, &h);
      smaller = gdk_pixbuf_scale_simple (upright, w, h, GDK_INTERP_BILINEAR);
      g_object_unref (upright);
      upright = smaller;
      self->scaled = TRUE;
    }
  self->width = gdk_pixbuf_get_width (upright);
  self->height = gdk_pixbuf_get_height (upright);
  self->thumbnail = make_thumbnail (upright);
  self->stored_thumbnail = make_stored_thumbnail (upright, &self->stored_thumbnail_width,
                                                  &self->stored_thumbnail_height);
  return TRUE;
}

/* ---- Text and PDF ----------------------------------------------------- */

static gboolean
load_text (RillAttachment             *self,
           GBytes                     *bytes,
           const RillAttachmentLimits *limits,
           GError                    **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autofree char *type = NULL;

  if (!is_utf8_text ((const guint8 *) data, len, FALSE))
    return unsupported (error, self->name, (const guint8 *) data, MIN (len, HEAD_BYTES));

  self->kind = RILL_ATTACHMENT_KIND_TEXT;
  /* A byte-order mark says nothing to a model. */
  if (len >= 3 && memcmp (data, "\xef\xbb\xbf", 3) == 0)
    self->text = g_strndup (data + 3, len - 3);
  else
    self->text = g_strndup (data, len);
  self->language = rill_attachment_language_for_name (self->name);
  type = g_content_type_guess (self->name, (const guint8 *) data, MIN (len, HEAD_BYTES), NULL);
  self->mime_type = g_content_type_get_mime_type (type);
  if (self->mime_type == NULL || strcmp (self->mime_type, "application/octet-stream") == 0)
    {
      g_free (self->mime_type);
      self->mime_type = g_strdup ("text/plain");
    }
  set_bytes (self, bytes);
  return TRUE;
}

/* The text of @document's pages; NULL past the text limit. */
static char *
pdf_text (RillAttachment             *self,
          PopplerDocument            *document,
          const RillAttachmentLimits *limits,
          GCancellable               *cancellable,
          GError                    **error)
{
  g_autoptr(GString) text = g_string_new (NULL);
  gboolean any_text = FALSE;

  for (guint i = 0; i < self->n_pages; i++)
    {
      /* Poppler 22 has no autoptr for its types. */
      g_autoptr(GObject) page = G_OBJECT (poppler_document_get_page (document, i));
      g_autofree char *page_text = NULL;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      page_text = page ? poppler_page_get_text (POPPLER_PAGE (page)) : NULL;
      if (page_text == NULL)
        continue;
      g_strchomp (page_text);
      for (const char *p = page_text; *p && !any_text; p = g_utf8_next_char (p))
        any_text = !g_unichar_isspace (g_utf8_get_char (p));
      if (text->len > 0)
        g_string_append (text, "\n\n");
      g_string_append (text, page_text);
      if (text->len > limits->max_text_bytes)
        {
          g_autofree char *limit_text = format_size (limits->max_text_bytes);

          g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_TOO_LARGE,
                       _("The text of %s is over %s, the limit for text files"),
                       self->name, limit_text);
          return NULL;
        }
    }
  if (!any_text)
    {
      g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_NO_TEXT,
                   _("%s has no text layer (a scanned document?): there is no text to send"),
                   self->name);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gboolean
load_pdf (RillAttachment             *self,
          GBytes                     *bytes,
          const RillAttachmentLimits *limits,
          GCancellable               *cancellable,
          GError                    **error)
{
  g_autoptr(GObject) document = NULL;
  g_autoptr(GError) local_error = NULL;

  document = G_OBJECT (poppler_document_new_from_bytes (bytes, NULL, &local_error));
  if (document == NULL)
    {
      if (g_error_matches (local_error, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
        g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_ENCRYPTED,
                     _("%s is protected by a password"), self->name);
      else
        g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_CORRUPT,
                     _("%s is a damaged PDF: %s"), self->name, local_error->message);
      return FALSE;
    }

  self->n_pages = poppler_document_get_n_pages (POPPLER_DOCUMENT (document));
  self->text = pdf_text (self, POPPLER_DOCUMENT (document), limits, cancellable, error);
  if (self->text == NULL)
    return FALSE;
  self->kind = RILL_ATTACHMENT_KIND_PDF;
  self->mime_type = g_strdup ("application/pdf");
  set_bytes (self, bytes);
  return TRUE;
}

/* ---- Loading ---------------------------------------------------------- */

static RillAttachment *
load_from_bytes (RillAttachment             *self,
                 GBytes                     *bytes,
                 Sniff                       kind,
                 const RillAttachmentLimits *limits,
                 GCancellable               *cancellable,
                 GError                    **error)
{
  gboolean ok = FALSE;

  self->original_size = g_bytes_get_size (bytes);
  switch (kind)
    {
    case SNIFF_PNG:
    case SNIFF_JPEG:
    case SNIFF_GIF:
    case SNIFF_WEBP:
      ok = load_image (self, bytes, kind, limits, cancellable, error);
      break;
    case SNIFF_PDF:
      ok = load_pdf (self, bytes, limits, cancellable, error);
      break;
    case SNIFF_TEXT:
      ok = load_text (self, bytes, limits, error);
      break;
    case SNIFF_UNKNOWN:
    default:
      ok = unsupported (error, self->name, g_bytes_get_data (bytes, NULL),
                        MIN (g_bytes_get_size (bytes), HEAD_BYTES));
      break;
    }
  if (!ok)
    {
      g_object_unref (self);
      return NULL;
    }
  return self;
}

static RillAttachment *
load_file (GFile                      *file,
           const RillAttachmentLimits *limits,
           GCancellable               *cancellable,
           GError                    **error)
{
  g_autoptr(RillAttachment) self = g_object_new (RILL_TYPE_ATTACHMENT, NULL);
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GByteArray) data = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize head_len = 0;
  guint64 size;
  Sniff kind;

  self->name = g_file_get_basename (file);
  info = g_file_query_info (file,
                            G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                            G_FILE_ATTRIBUTE_STANDARD_SIZE ","
                            G_FILE_ATTRIBUTE_STANDARD_DISPLAY_NAME,
                            G_FILE_QUERY_INFO_NONE, cancellable, &local_error);
  if (info == NULL)
    {
      set_io_error (error, self->name, local_error);
      return NULL;
    }
  if (g_file_info_get_display_name (info) != NULL)
    {
      g_free (self->name);
      self->name = g_strdup (g_file_info_get_display_name (info));
    }
  if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
    {
      g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_NOT_REGULAR,
                   _("%s is a folder: only files can be attached"), self->name);
      return NULL;
    }
  if (g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_NOT_REGULAR,
                   _("%s is not a regular file"), self->name);
      return NULL;
    }
  size = g_file_info_get_size (info);
  if (size > limits->max_file_bytes)
    {
      too_large (error, self->name, SNIFF_UNKNOWN, size, limits->max_file_bytes);
      return NULL;
    }

  stream = g_file_read (file, cancellable, &local_error);
  if (stream == NULL)
    {
      set_io_error (error, self->name, local_error);
      return NULL;
    }
  data = g_byte_array_sized_new (MIN (size, limits->max_file_bytes) + 1);
  g_byte_array_set_size (data, HEAD_BYTES);
  if (!g_input_stream_read_all (G_INPUT_STREAM (stream), data->data, HEAD_BYTES, &head_len,
                                cancellable, &local_error))
    {
      set_io_error (error, self->name, local_error);
      return NULL;
    }
  g_byte_array_set_size (data, head_len);
  if (head_len == 0)
    {
      g_set_error (error, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_EMPTY,
                   _("%s is empty"), self->name);
      return NULL;
    }

  kind = sniff (data->data, head_len, head_len == HEAD_BYTES);
  if (kind == SNIFF_UNKNOWN)
    {
      unsupported (error, self->name, data->data, head_len);
      return NULL;
    }
  if (kind == SNIFF_TEXT && size > limits->max_text_bytes)
    {
      too_large (error, self->name, kind, size, limits->max_text_bytes);
      return NULL;
    }

  if (head_len < HEAD_BYTES)
    bytes = g_byte_array_free_to_bytes (g_steal_pointer (&data));
  else
    bytes = read_rest (G_INPUT_STREAM (stream), g_steal_pointer (&data),
                       kind == SNIFF_TEXT ? limits->max_text_bytes : limits->max_file_bytes,
                       kind, self->name, cancellable, error);
  if (bytes == NULL)
    return NULL;
  return load_from_bytes (g_steal_pointer (&self), bytes, kind, limits, cancellable, error);
}

static void
load_worker (gpointer data,
             gpointer pool_data)
{
  g_autoptr(GTask) task = data;
  LoadJob *job = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  RillAttachment *attachment = NULL;
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (task))
    return;
  if (job->file != NULL)
    attachment = load_file (job->file, &job->limits, cancellable, &error);
  else
    {
      RillAttachment *self = g_object_new (RILL_TYPE_ATTACHMENT, NULL);
      gsize len;
      const guint8 *head = g_bytes_get_data (job->bytes, &len);

      self->name = g_strdup (job->name);
      attachment = load_from_bytes (self, job->bytes, sniff (head, MIN (len, HEAD_BYTES), TRUE),
                                    &job->limits, cancellable, &error);
    }
  if (attachment != NULL)
    g_task_return_pointer (task, attachment, g_object_unref);
  else
    g_task_return_error (task, error);
}

/* Two at a time: see the note at the top. */
static void
push_job (GTask *task)
{
  static GThreadPool *pool;

  if (g_once_init_enter (&pool))
    g_once_init_leave (&pool, g_thread_pool_new (load_worker, NULL, 2, FALSE, NULL));
  g_thread_pool_push (pool, task, NULL);
}

static GTask *
new_task (gpointer                    source_tag,
          LoadJob                    *job,
          const RillAttachmentLimits *limits,
          GCancellable               *cancellable,
          GAsyncReadyCallback         callback,
          gpointer                    user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  if (limits != NULL)
    job->limits = *limits;
  else
    rill_attachment_limits_init (&job->limits);
  g_task_set_task_data (task, job, (GDestroyNotify) load_job_free);
  return task;
}

void
rill_attachment_load_async (GFile                      *file,
                            const RillAttachmentLimits *limits,
                            GCancellable               *cancellable,
                            GAsyncReadyCallback         callback,
                            gpointer                    user_data)
{
  LoadJob *job;

  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  job = g_new0 (LoadJob, 1);
  job->file = g_object_ref (file);
  push_job (new_task (rill_attachment_load_async, job, limits, cancellable, callback, user_data));
}

RillAttachment *
rill_attachment_load_finish (GAsyncResult *result,
                             GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rill_attachment_load_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
rill_attachment_load_bytes_async (GBytes                     *bytes,
                                  const char                 *name,
                                  const RillAttachmentLimits *limits,
                                  GCancellable               *cancellable,
                                  GAsyncReadyCallback         callback,
                                  gpointer                    user_data)
{
  g_autoptr(GTask) task = NULL;
  LoadJob *job;

  g_return_if_fail (bytes != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  job = g_new0 (LoadJob, 1);
  job->bytes = g_bytes_ref (bytes);
  job->name = g_strdup (name);
  task = new_task (rill_attachment_load_bytes_async, job, limits, cancellable, callback,
                   user_data);
  if (g_bytes_get_size (bytes) == 0)
    {
      g_task_return_new_error (task, RILL_ATTACHMENT_ERROR, RILL_ATTACHMENT_ERROR_EMPTY,
                               _("%s is empty"), name);
      return;
    }
  if (g_bytes_get_size (bytes) > job->limits.max_file_bytes)
    {
      GError *error = NULL;

      too_large (&error, name, SNIFF_UNKNOWN, g_bytes_get_size (bytes),
                 job->limits.max_file_bytes);
      g_task_return_error (task, error);
      return;
    }
  push_job (g_steal_pointer (&task));
}

RillAttachment *
rill_attachment_load_bytes_finish (GAsyncResult *result,
                                   GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) ==
                        rill_attachment_load_bytes_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Context ---------------------------------------------------------- */

const char *
rill_attachment_language_for_name (const char *name)
{
  static const struct { const char *key; const char *language; } by_name[] = {
    { "makefile", "makefile" }, { "gnumakefile", "makefile" }, { "dockerfile", "dockerfile" },
    { "containerfile", "dockerfile" }, { "cmakelists.txt", "cmake" },
    { "meson.build", "meson" }, { "meson_options.txt", "meson" },
  };
  static const struct { const char *key; const char *language; } by_extension[] = {
    { "c", "c" }, { "h", "c" }, { "cc", "cpp" }, { "cpp", "cpp" }, { "cxx", "cpp" },
    { "hh", "cpp" }, { "hpp", "cpp" }, { "cs", "csharp" }, { "css", "css" }, { "csv", "csv" },
    { "diff", "diff" }, { "patch", "diff" }, { "go", "go" }, { "html", "html" },
    { "htm", "html" }, { "ini", "ini" }, { "java", "java" }, { "js", "javascript" },
    { "mjs", "javascript" }, { "json", "json" }, { "jsonl", "json" }, { "kt", "kotlin" },
    { "lua", "lua" }, { "md", "markdown" }, { "markdown", "markdown" }, { "php", "php" },
    { "pl", "perl" }, { "py", "python" }, { "rb", "ruby" }, { "rs", "rust" },
    { "scala", "scala" }, { "sh", "bash" }, { "bash", "bash" }, { "zsh", "zsh" },
    { "sql", "sql" }, { "swift", "swift" }, { "tex", "latex" }, { "toml", "toml" },
    { "ts", "typescript" }, { "tsx", "tsx" }, { "jsx", "jsx" }, { "vala", "vala" },
    { "xml", "xml" }, { "ui", "xml" }, { "svg", "xml" }, { "yaml", "yaml" }, { "yml", "yaml" },
    { "tsv", "tsv" }, { "log", "log" }, { "txt", "text" }, { "rst", "rst" },
  };
  g_autofree char *lower = NULL;
  const char *dot;

  g_return_val_if_fail (name != NULL, "");

  lower = g_utf8_strdown (name, -1);
  for (guint i = 0; i < G_N_ELEMENTS (by_name); i++)
    if (strcmp (lower, by_name[i].key) == 0)
      return by_name[i].language;
  dot = strrchr (lower, '.');
  if (dot == NULL || dot == lower)
    return "";
  for (guint i = 0; i < G_N_ELEMENTS (by_extension); i++)
    if (strcmp (dot + 1, by_extension[i].key) == 0)
      return by_extension[i].language;
  return "";
}

static guint
longest_backtick_run (const char *text)
{
  guint longest = 0, run = 0;

  for (const char *p = text; *p; p++)
    {
      run = *p == '`' ? run + 1 : 0;
      longest = MAX (longest, run);
    }
  return longest;
}

char *
rill_attachment_format_as_context (RillAttachment *self)
{
  g_autofree char *fence = NULL;
  g_autofree char *name = NULL;
  GString *out;

  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), NULL);

  if (self->kind == RILL_ATTACHMENT_KIND_IMAGE)
    return NULL;

  fence = g_strnfill (MAX (3, longest_backtick_run (self->text) + 1), '`');
  /* The name heads the block on one line. */
  name = g_strdelimit (g_strdup (self->name), "\r\n", ' ');
  out = g_string_new (NULL);
  /* For the model, not for the person: not translated. */
  if (self->kind == RILL_ATTACHMENT_KIND_PDF)
    g_string_append_printf (out, "File: %s (the text of a PDF)\n", name);
  else
    g_string_append_printf (out, "File: %s\n", name);
  g_string_append_printf (out, "%s%s\n%s", fence, self->language, self->text);
  if (out->len == 0 || out->str[out->len - 1] != '\n')
    g_string_append_c (out, '\n');
  g_string_append_printf (out, "%s\n", fence);
  return g_string_free (out, FALSE);
}

/* ---- Getters ---------------------------------------------------------- */

RillAttachmentKind
rill_attachment_get_kind (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), RILL_ATTACHMENT_KIND_TEXT);
  return self->kind;
}

const char *
rill_attachment_get_name (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), NULL);
  return self->name;
}

const char *
rill_attachment_get_mime_type (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), NULL);
  return self->mime_type;
}

GBytes *
rill_attachment_get_bytes (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), NULL);
  return self->bytes;
}

guint64
rill_attachment_get_size (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), 0);
  return g_bytes_get_size (self->bytes);
}

const char *
rill_attachment_get_sha256 (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), NULL);
  return self->sha256;
}

guint64
rill_attachment_get_original_size (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), 0);
  return self->original_size;
}

guint
rill_attachment_get_width (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), 0);
  return self->width;
}

guint
rill_attachment_get_height (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), 0);
  return self->height;
}

gboolean
rill_attachment_get_scaled (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), FALSE);
  return self->scaled;
}

guint
rill_attachment_get_original_width (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), 0);
  return self->original_width;
}

guint
rill_attachment_get_original_height (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), 0);
  return self->original_height;
}

gboolean
rill_attachment_get_first_frame_only (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), FALSE);
  return self->first_frame_only;
}

GBytes *
rill_attachment_get_thumbnail (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), NULL);
  return self->thumbnail;
}

GBytes *
rill_attachment_get_stored_thumbnail (RillAttachment *self,
                                      guint          *width,
                                      guint          *height)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), NULL);
  if (width != NULL)
    *width = self->stored_thumbnail_width;
  if (height != NULL)
    *height = self->stored_thumbnail_height;
  return self->stored_thumbnail;
}

const char *
rill_attachment_get_text (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), NULL);
  return self->text;
}

const char *
rill_attachment_get_language (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), "");
  return self->language;
}

guint
rill_attachment_get_n_pages (RillAttachment *self)
{
  g_return_val_if_fail (RILL_IS_ATTACHMENT (self), 0);
  return self->n_pages;
}
