/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-attachment.h: a file made ready to go with a message: an image (as
 * the same bytes, or scaled down once), or the text of a text file or a
 * PDF. Loading reads, checks, scales and extracts off the main thread; what
 * it returns is complete and never changes, and what it refuses comes back
 * as a RILL_ATTACHMENT_ERROR whose message names the file and says why. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define RILL_ATTACHMENT_ERROR (rill_attachment_error_quark ())

typedef enum
{
  RILL_ATTACHMENT_ERROR_NOT_FOUND,    /* gone before it was read */
  RILL_ATTACHMENT_ERROR_NOT_REGULAR,  /* a folder, a device, a socket */
  RILL_ATTACHMENT_ERROR_UNREADABLE,   /* no permission, or an I/O error */
  RILL_ATTACHMENT_ERROR_TOO_LARGE,    /* over a limit, checked before reading */
  RILL_ATTACHMENT_ERROR_EMPTY,
  RILL_ATTACHMENT_ERROR_CORRUPT,      /* an image or PDF that does not decode */
  RILL_ATTACHMENT_ERROR_UNSUPPORTED,  /* neither an image, a PDF nor UTF-8 text */
  RILL_ATTACHMENT_ERROR_NO_TEXT,      /* a PDF without a text layer */
  RILL_ATTACHMENT_ERROR_ENCRYPTED,    /* a PDF behind a password */
  RILL_ATTACHMENT_ERROR_NO_LOADER,    /* an image format this system cannot decode */
} RillAttachmentError;

GQuark rill_attachment_error_quark (void);

typedef enum
{
  RILL_ATTACHMENT_KIND_IMAGE,
  RILL_ATTACHMENT_KIND_TEXT,
  RILL_ATTACHMENT_KIND_PDF,
} RillAttachmentKind;

/* What an attachment may be. The first three are meant to become settings
 * (attachment-max-image-side, attachment-max-image-bytes,
 * attachment-max-text-bytes); max_file_bytes bounds what is read at all. */
typedef struct
{
  guint   max_image_side;   /* pixels, the longer side; larger is scaled */
  guint64 max_image_bytes;  /* larger is scaled and re-encoded */
  guint64 max_text_bytes;   /* a text file, or a PDF's text; larger is refused */
  guint64 max_file_bytes;   /* any file; larger is refused before reading */
} RillAttachmentLimits;

#define RILL_ATTACHMENT_MAX_IMAGE_SIDE  2048
#define RILL_ATTACHMENT_MAX_IMAGE_BYTES (G_GUINT64_CONSTANT (10) * 1024 * 1024)
#define RILL_ATTACHMENT_MAX_TEXT_BYTES  (G_GUINT64_CONSTANT (512) * 1024)
#define RILL_ATTACHMENT_MAX_FILE_BYTES  (G_GUINT64_CONSTANT (100) * 1024 * 1024)

void rill_attachment_limits_init (RillAttachmentLimits *limits);

#define RILL_TYPE_ATTACHMENT (rill_attachment_get_type ())
G_DECLARE_FINAL_TYPE (RillAttachment, rill_attachment, RILL, ATTACHMENT, GObject)

/* Reads @file in a worker thread. @limits is copied; NULL means the
 * defaults. A file larger than max_file_bytes (or, for text, than
 * max_text_bytes) is refused from its size, before a byte is read. */
void                rill_attachment_load_async           (GFile                       *file,
                                                          const RillAttachmentLimits  *limits,
                                                          GCancellable                *cancellable,
                                                          GAsyncReadyCallback          callback,
                                                          gpointer                     user_data);
RillAttachment     *rill_attachment_load_finish          (GAsyncResult                *result,
                                                          GError                     **error);
/* The same for bytes that are no file (an image pasted from the
 * clipboard), called @name. */
void                rill_attachment_load_bytes_async     (GBytes                      *bytes,
                                                          const char                  *name,
                                                          const RillAttachmentLimits  *limits,
                                                          GCancellable                *cancellable,
                                                          GAsyncReadyCallback          callback,
                                                          gpointer                     user_data);
RillAttachment     *rill_attachment_load_bytes_finish    (GAsyncResult                *result,
                                                          GError                     **error);

RillAttachmentKind  rill_attachment_get_kind             (RillAttachment              *self);
/* The file's display name. */
const char         *rill_attachment_get_name             (RillAttachment              *self);
/* Of the bytes to send: "image/png", "text/x-csrc", "application/pdf". */
const char         *rill_attachment_get_mime_type        (RillAttachment              *self);
/* The bytes to send and store: the file's own bytes, except for a scaled
 * image (the re-encoded one) or a GIF's first frame (as PNG). */
GBytes             *rill_attachment_get_bytes            (RillAttachment              *self);
/* Their size, and their SHA-256 in lowercase hex. */
guint64             rill_attachment_get_size             (RillAttachment              *self);
const char         *rill_attachment_get_sha256           (RillAttachment              *self);
/* The size of the file as it was read. */
guint64             rill_attachment_get_original_size    (RillAttachment              *self);

/* Images: the size sent, and whether it was scaled from another. */
guint               rill_attachment_get_width            (RillAttachment              *self);
guint               rill_attachment_get_height           (RillAttachment              *self);
gboolean            rill_attachment_get_scaled           (RillAttachment              *self);
guint               rill_attachment_get_original_width   (RillAttachment              *self);
guint               rill_attachment_get_original_height  (RillAttachment              *self);
/* An animated GIF: only its first frame is sent. */
gboolean            rill_attachment_get_first_frame_only (RillAttachment              *self);
/* A PNG of at most 128 pixels a side, for a chip; NULL for files. */
GBytes             *rill_attachment_get_thumbnail        (RillAttachment              *self);
/* The longer side of the thumbnail the store keeps, in pixels: sharp at
 * the 96 a message shows on a screen that doubles them. */
#define RILL_STORED_THUMBNAIL_SIDE 192

/* The thumbnail the store keeps with an image (see rill-store-schema.c,
 * version 9), made from the pixels already decoded, and its size; NULL
 * for files. */
GBytes             *rill_attachment_get_stored_thumbnail (RillAttachment              *self,
                                                          guint                       *width,
                                                          guint                       *height);
/* The same from an image's stored bytes, for one stored before there were
 * thumbnails; blocks, so call it in a worker thread. NULL when @image is
 * not an image that decodes. */
GBytes             *rill_attachment_make_stored_thumbnail (GBytes                     *image,
                                                           GCancellable               *cancellable,
                                                           guint                      *width,
                                                           guint                      *height,
                                                           GError                    **error);

/* Text and PDF: the text, and the fence language from the file's
 * extension ("c", "python", "markdown"; "" when none is known). */
const char         *rill_attachment_get_text             (RillAttachment              *self);
const char         *rill_attachment_get_language         (RillAttachment              *self);
/* PDF: its pages. */
guint               rill_attachment_get_n_pages          (RillAttachment              *self);

/* The text a model is given for a text or PDF attachment: the file's name,
 * then its text in a fenced block whose fence is longer than any run of
 * backticks in the text, so the file cannot close it. NULL for images. */
char               *rill_attachment_format_as_context    (RillAttachment              *self);

/* The fence language for a file called @name ("" when none is known). */
const char         *rill_attachment_language_for_name    (const char                  *name);

G_END_DECLS
