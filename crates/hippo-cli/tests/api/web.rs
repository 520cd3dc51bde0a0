//! The browser UI: login with CSRF, patient and staff pages, forms, headers.

use reqwest::StatusCode;
use reqwest::multipart;

use crate::helpers::{PDF, Session, spawn_app, test_app};

#[tokio::test]
async fn patient_logs_in_through_the_form_and_reads_values() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let response = app.web_login_raw(&max.email, &max.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session_cookie = set_cookie
        .iter()
        .find(|c| c.starts_with("hippo_session="))
        .expect("session cookie");
    assert!(session_cookie.contains("HttpOnly"));
    assert!(session_cookie.contains("SameSite=Lax"));
    let token = session_cookie["hippo_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session = Session::api(String::new(), String::new(), max.clone());
    session.web.set(token).unwrap();

    let home = app.web_get("/", &session).await;
    assert_eq!(home.headers()["location"], "/findings");
    let list = app.web_get("/findings", &session).await;
    assert_eq!(list.status(), StatusCode::OK);
    let html = list.text().await.unwrap();
    assert!(html.contains("Kleines Blutbild"));
    assert!(html.contains("Lipidprofil"));
    assert!(
        !html.contains("Langzeitblutzucker"),
        "the draft is not shown"
    );

    let mut saw_abnormal = false;
    for finding in &max.finding_ids {
        let page = app.web_get(&format!("/findings/{finding}"), &session).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("Reference range"));
        assert!(html.contains(&format!("/findings/{finding}/pdf")));
        assert!(!html.contains("Release to patient"));
        saw_abnormal |= html.contains("class=\"abnormal\"");
        let pdf = app
            .web_get(&format!("/findings/{finding}/pdf"), &session)
            .await;
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    }
    assert!(
        saw_abnormal,
        "demo values include out-of-range results, highlighted"
    );
}

#[tokio::test]
async fn login_form_requires_its_csrf_token() {
    let app = spawn_app().await;
    let max = app.user("max.schmidt");
    let r = app
        .client
        .post(format!("{}/login", app.url))
        .form(&[
            ("email", max.email.as_str()),
            ("password", max.password.as_str()),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("hippo_session"))
    );
    let wrong = app.web_login_raw(&max.email, "wrong").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("E-mail or password is wrong")
    );
}

#[tokio::test]
async fn staff_work_through_the_browser_with_csrf_protected_forms() {
    let app = spawn_app().await;
    let clinician = app.login("a.keller").await;
    let page = app.web_get("/patients", &clinician).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Mustermann, Erika"));
    assert!(
        !html.contains("Hoffmann"),
        "no patient of the other facility"
    );

    let fields = [
        ("given_name", "Clara"),
        ("family_name", "Neumann"),
        ("birth_date", "1990-04-01"),
    ];
    let without = app.web_post_form("/patients", &clinician, &fields).await;
    assert_eq!(without.status(), StatusCode::UNPROCESSABLE_ENTITY); // form lacks the csrf field entirely
    let mut with_wrong = fields.to_vec();
    with_wrong.push(("csrf", "0000"));
    assert_eq!(
        app.web_post_form("/patients", &clinician, &with_wrong)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM patients WHERE family_name = 'Neumann'")
            .await,
        0
    );

    let csrf = app.web_csrf(&clinician).await;
    let mut with_csrf = fields.to_vec();
    with_csrf.push(("csrf", &csrf));
    let created = app.web_post_form("/patients", &clinician, &with_csrf).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/patients/"));

    let form = multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("title", "Gerinnung")
        .text("row-0-analyte", "Quick")
        .text("row-0-code", "5902-2")
        .text("row-0-value", "55")
        .text("row-0-unit", "%")
        .text("row-0-low", "70")
        .text("row-0-high", "120")
        .part(
            "pdf",
            multipart::Part::bytes(PDF.to_vec()).file_name("q.pdf"),
        );
    let uploaded = app
        .client
        .post(format!("{}{location}/findings", app.url))
        .header("cookie", app.web_cookie(&clinician).await)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let finding_page = uploaded.headers()["location"].to_str().unwrap().to_owned();
    let html = app
        .web_get(&finding_page, &clinician)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Quick"));
    assert!(html.contains("Release to patient"));
    assert!(html.contains("class=\"abnormal\""));

    let released = app
        .web_post_form(
            &format!("{finding_page}/release"),
            &clinician,
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(released.status(), StatusCode::SEE_OTHER);
    let html = app
        .web_get(&finding_page, &clinician)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Retract"));
}

#[tokio::test]
async fn pages_carry_security_headers_and_no_cache() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/login", app.url))
        .send()
        .await
        .unwrap();
    let h = r.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let css = app
        .client
        .get(format!("{}/static/hippo.css", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
}

#[tokio::test]
async fn secure_deployments_use_host_prefixed_secure_cookies() {
    let app = test_app()
        .configure(|c| c.cookie_secure = true)
        .spawn()
        .await;
    let max = app.user("max.schmidt");
    let r = app.web_login_raw(&max.email, &max.password).await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-hippo_session="))
        .expect("__Host- cookie");
    assert!(cookie.contains("Secure"));
    assert!(cookie.contains("Path=/"));
}
