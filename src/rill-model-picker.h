/* SPDX-License-Identifier: GPL-3.0-or-later */
/* rill-model-picker.h: the model drop-down in the header bar. */
#pragma once

#include <adwaita.h>

#include "rill-core.h"

G_BEGIN_DECLS

#define RILL_TYPE_MODEL_PICKER (rill_model_picker_get_type ())
G_DECLARE_FINAL_TYPE (RillModelPicker, rill_model_picker, RILL, MODEL_PICKER, AdwBin)

/* Properties: "session" (lists the models of its provider whenever that
 * changes) and "model" (the model wanted: selected once listed, shown even
 * when the server does not list it; empty for the first listed).
 * Signal: "model-chosen (const char *model)", only when the person picks. */
void  rill_model_picker_set_model     (RillModelPicker *self,
                                       const char      *model);
/* What is selected now, or NULL when nothing is listed. */
char *rill_model_picker_dup_selected  (RillModelPicker *self);
/* Opens the list, for the keyboard (Ctrl+M). */
void  rill_model_picker_popup         (RillModelPicker *self);

G_END_DECLS
