/* Placeholder translation unit for a library whose sources are not written yet. */
typedef int sl_empty_translation_unit;
