/* Host tests of libs/common/error.c: every code has its name and description. */
#include "check.h"

#include <common/error.h>
#include <common/string.h>

static const struct {
    int code;
    const char *name;
} codes[] = {
#define ERROR_CASE(name, num, desc) {name, #name},
    ERROR_LIST(ERROR_CASE)
#undef ERROR_CASE
};

TEST(every_code_has_its_name) {
    for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
        CHECK_EQ_STR(err_name(codes[i].code), codes[i].name);
}

TEST(every_code_has_a_description) {
    for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
        const char *desc = err_desc(codes[i].code);
        CHECK(desc != NULL && strlen(desc) > 0);
        CHECK(strcmp(desc, "unknown error") != 0);
        for (size_t j = 0; j < i; j++)  /* no copy-pasted descriptions */
            CHECK(strcmp(desc, err_desc(codes[j].code)) != 0);
    }
}

TEST(codes_are_dense_and_negative) {
    /* ERR_END_ is one past the last code, and every number in between is used. */
    CHECK_EQ_INT(ARRAY_SIZE(codes), -(ERR_END_ + 1));
    for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
        CHECK(IS_ERROR(codes[i].code));
        CHECK_EQ_INT(codes[i].code, -(int) (i + 1));
    }
}

TEST(spot_checks) {
    CHECK_EQ_STR(err_name(ERR_NOT_FOUND), "ERR_NOT_FOUND");
    CHECK_EQ_STR(err_name(-8), "ERR_NOT_FOUND");
    CHECK_EQ_STR(err_name(ERR_NO_MEMORY), "ERR_NO_MEMORY");
    CHECK_EQ_STR(err_name(ERR_DEAD), "ERR_DEAD");
    CHECK_EQ_STR(err_desc(ERR_TIMEOUT), "timed out");
}

TEST(ok_and_positive_values) {
    CHECK_EQ_STR(err_name(OK), "OK");
    CHECK_EQ_STR(err_desc(OK), "success");
    CHECK_EQ_STR(err_name(5), "OK");  /* a count or id returned in place of OK */
    CHECK(IS_OK(OK) && !IS_ERROR(OK));
}

TEST(unknown_codes) {
    static const int unknown[] = {ERR_END_, ERR_END_ - 1, -1000, -2147483647 - 1};
    for (size_t i = 0; i < ARRAY_SIZE(unknown); i++) {
        CHECK_EQ_STR(err_name(unknown[i]), "ERR_UNKNOWN");
        CHECK_EQ_STR(err_desc(unknown[i]), "unknown error");
    }
}
